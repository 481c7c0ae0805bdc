/**
 * Host hub: the control plane's side of host-agent connections (protocol v1).
 *
 * DB-agnostic: the caller wires it to storage through callbacks. One WebSocket per host; a newer
 * connection for the same host replaces the older one. See src/lib/protocol/README.md.
 *
 *   const hub = createHub({ authenticate, onHello, onHeartbeat, onEvent, onDisconnect });
 *   server.on('upgrade', (req, socket, head) => { if (url is /ws/agent) hub.handleUpgrade(req, socket, head) });
 *   const r = await hub.call(hostId, 'exec.run', { sandbox_id, command: 'echo hi' });
 *   const ch = await hub.openChannel(hostId, 'process-logs', { sandbox_id, pid });
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
	CloseCodes,
	PROTOCOL_HEADER,
	PROTOCOL_VERSION,
	parseMessage,
	type ChannelKind,
	type ChannelKinds,
	type ControlMethods,
	type Hello,
	type MethodName,
	type Methods,
	type ParamsOf,
	type ProgressOf,
	type ResultOf,
	type Usage
} from '../../protocol/index';
import {
	CallCancelledError,
	CallTimeoutError,
	Channel,
	ConnectionClosedError,
	HandlerError,
	Peer,
	RemoteError
} from '../../protocol/peer';

export { CallCancelledError, CallTimeoutError, Channel };

export interface HubCallbacks {
	/** Map a host key to a host id, or null to refuse (HTTP 401). */
	authenticate(token: string): Promise<{ hostId: string } | null>;
	/** The agent said hello; answer with the sandbox ids it should destroy. */
	onHello(hostId: string, hello: Hello): Promise<{ destroy: string[] }>;
	onHeartbeat(hostId: string, usage: Usage): void | Promise<void>;
	onEvent(hostId: string, name: string, data: unknown): void;
	/** The current connection of this host went away (not called for replaced connections). */
	onDisconnect(hostId: string): void;
	/** Optional logger. */
	log?(level: 'info' | 'warn' | 'error', message: string, meta?: Record<string, unknown>): void;
}

export interface HubCallOptions<P = unknown> {
	/** Default: 30 s; exec.run: its timeout_ms + 15 s; sandbox.create: 120 s; template.ensure with wait: 20 min. */
	timeoutMs?: number;
	signal?: AbortSignal;
	/** Progress frames of this call (exec.run with stream: true, template.ensure). */
	onProgress?: (data: P) => void;
}

/** The host has no live connection, or it dropped while the call was in flight. */
export class HostUnavailableError extends Error {
	readonly code = 'HOST_UNAVAILABLE';
	constructor(
		readonly hostId: string,
		message = `host ${hostId} is not connected`
	) {
		super(message);
		this.name = 'HostUnavailableError';
	}
}

/** The agent answered ok:false. `code` is one of the protocol's ErrorCodes. */
export class AgentError extends Error {
	constructor(
		readonly hostId: string,
		readonly method: string,
		readonly code: string,
		message: string
	) {
		super(message);
		this.name = 'AgentError';
	}
}

export interface Hub {
	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
	call<M extends MethodName>(
		hostId: string,
		method: M,
		params: ParamsOf<M>,
		opts?: HubCallOptions<ProgressOf<M>>
	): Promise<ResultOf<M>>;
	openChannel<K extends ChannelKind>(
		hostId: string,
		kind: K,
		params: ChannelKinds[K],
		opts?: { timeoutMs?: number; signal?: AbortSignal }
	): Promise<Channel>;
	isConnected(hostId: string): boolean;
	connectedHostIds(): string[];
	/** The hello of the current connection. */
	helloOf(hostId: string): Hello | undefined;
	/** Closes a host's connection (its key was revoked); it is refused when it dials again. */
	disconnect(hostId: string, reason?: string): void;
	close(): Promise<void>;
}

interface Conn {
	hostId: string;
	ws: WebSocket;
	peer: Peer<Methods>;
	hello?: Hello;
	ready: boolean;
	lastSeen: number;
}

const HELLO_TIMEOUT_MS = 10_000;
const PING_INTERVAL_MS = 10_000;
const DEAD_AFTER_MS = 35_000;

function defaultTimeout(method: string, params: unknown): number {
	const p = (params ?? {}) as Record<string, unknown>;
	switch (method) {
		case 'exec.run':
			return (typeof p.timeout_ms === 'number' ? p.timeout_ms : 60_000) + 15_000;
		case 'sandbox.create':
			return 120_000;
		case 'template.ensure':
			return p.wait ? 20 * 60_000 : 30_000;
		case 'process.stop':
			return (typeof p.grace_ms === 'number' ? p.grace_ms : 5_000) + 15_000;
		default:
			return 30_000;
	}
}

function rejectUpgrade(socket: Duplex, status: number, text: string, body = text): void {
	try {
		socket.write(
			`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
		);
	} catch {
		/* ignore */
	}
	socket.destroy();
}

export function createHub(cb: HubCallbacks): Hub {
	const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
	const current = new Map<string, Conn>();
	const all = new Set<Conn>();
	let closed = false;
	const log = (level: 'info' | 'warn' | 'error', msg: string, meta?: Record<string, unknown>) => cb.log?.(level, msg, meta);

	const pinger = setInterval(() => {
		const now = Date.now();
		for (const c of all) {
			if (now - c.lastSeen > DEAD_AFTER_MS) {
				log('warn', 'agent connection silent, terminating', { hostId: c.hostId });
				c.ws.terminate();
			} else if (c.ws.readyState === WebSocket.OPEN) {
				try {
					c.ws.ping();
				} catch {
					/* ignore */
				}
			}
		}
	}, PING_INTERVAL_MS);
	pinger.unref();

	function attach(ws: WebSocket, hostId: string): void {
		const conn: Conn = {
			hostId,
			ws,
			ready: false,
			lastSeen: Date.now(),
			peer: undefined as unknown as Peer<Methods>
		};
		conn.peer = new Peer<Methods>(ws, {
			onEvent: (name, data) => cb.onEvent(hostId, name, data),
			onRequest: async (method) => {
				// Methods the agent may call on us (ControlMethods).
				if (method === ('control.ping' satisfies keyof ControlMethods)) return { time: Date.now() };
				throw new HandlerError('METHOD_NOT_FOUND', `unknown method ${method}`);
			}
		});
		all.add(conn);
		const helloTimer = setTimeout(() => {
			if (!conn.ready) ws.close(CloseCodes.helloTimeout, 'no hello');
		}, HELLO_TIMEOUT_MS);

		ws.on('pong', () => (conn.lastSeen = Date.now()));
		ws.on('ping', () => (conn.lastSeen = Date.now()));
		ws.on('message', (data: RawData, isBinary: boolean) => {
			conn.lastSeen = Date.now();
			const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
			if (isBinary) {
				if (conn.ready) conn.peer.handleBinary(buf);
				return;
			}
			const m = parseMessage(buf.toString('utf8'));
			if (!m) {
				log('warn', 'bad message from agent', { hostId });
				return;
			}
			if (!conn.ready) {
				if (m.t !== 'hello') return;
				if (m.protocol !== PROTOCOL_VERSION) {
					const message = `protocol mismatch: agent speaks ${m.protocol}, control plane speaks ${PROTOCOL_VERSION}`;
					conn.peer.sendMessage({ t: 'reject', code: 'PROTOCOL_MISMATCH', message });
					ws.close(CloseCodes.protocolMismatch, 'protocol mismatch');
					log('warn', message, { hostId });
					return;
				}
				const { t: _t, ...hello } = m;
				void handleHello(conn, hello as Hello);
				return;
			}
			if (m.t === 'heartbeat') {
				try {
					void Promise.resolve(cb.onHeartbeat(hostId, m.usage)).catch((e) =>
						log('error', 'onHeartbeat failed', { hostId, error: String(e) })
					);
				} catch (e) {
					log('error', 'onHeartbeat failed', { hostId, error: String(e) });
				}
				return;
			}
			conn.peer.handleText(m);
		});
		ws.on('close', () => {
			clearTimeout(helloTimer);
			all.delete(conn);
			conn.peer.close(new ConnectionClosedError(`host ${hostId} disconnected`));
			if (current.get(hostId) === conn) {
				current.delete(hostId);
				try {
					cb.onDisconnect(hostId);
				} catch (e) {
					log('error', 'onDisconnect failed', { hostId, error: String(e) });
				}
			}
		});
		ws.on('error', (e) => log('warn', 'agent socket error', { hostId, error: String(e) }));

		async function handleHello(c: Conn, hello: Hello): Promise<void> {
			let destroy: string[] = [];
			try {
				destroy = (await cb.onHello(hostId, hello)).destroy ?? [];
			} catch (e) {
				log('error', 'onHello failed', { hostId, error: String(e) });
				c.peer.sendMessage({ t: 'reject', code: 'INTERNAL', message: 'control plane failed to accept the agent' });
				ws.close(1011, 'hello failed');
				return;
			}
			if (ws.readyState !== WebSocket.OPEN) return;
			clearTimeout(helloTimer);
			const old = current.get(hostId);
			c.hello = hello;
			c.ready = true;
			current.set(hostId, c);
			if (old && old !== c) {
				log('info', 'agent connection replaced', { hostId });
				old.peer.close(new ConnectionClosedError(`host ${hostId} reconnected`));
				old.ws.close(CloseCodes.replaced, 'replaced by a newer connection');
			}
			c.peer.sendMessage({ t: 'welcome', protocol: PROTOCOL_VERSION, host_id: hostId, destroy });
			log('info', 'agent connected', { hostId, sandboxes: hello.sandboxes.length });
		}
	}

	function connOf(hostId: string): Conn {
		const c = current.get(hostId);
		if (!c || !c.ready || c.ws.readyState !== WebSocket.OPEN) throw new HostUnavailableError(hostId);
		return c;
	}

	function mapError(hostId: string, method: string, e: unknown): Error {
		if (e instanceof RemoteError) return new AgentError(hostId, method, e.code, e.message);
		if (e instanceof ConnectionClosedError) return new HostUnavailableError(hostId, `host ${hostId}: ${e.message}`);
		return e as Error;
	}

	return {
		handleUpgrade(req, socket, head) {
			if (closed) return rejectUpgrade(socket, 503, 'Service Unavailable');
			const version = req.headers[PROTOCOL_HEADER];
			if (version !== undefined && String(version) !== String(PROTOCOL_VERSION)) {
				return rejectUpgrade(
					socket,
					426,
					'Upgrade Required',
					`protocol mismatch: agent speaks ${String(version)}, control plane speaks ${PROTOCOL_VERSION}`
				);
			}
			const auth = req.headers.authorization ?? '';
			const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
			if (!token) return rejectUpgrade(socket, 401, 'Unauthorized');
			cb.authenticate(token).then(
				(r) => {
					if (!r) return rejectUpgrade(socket, 401, 'Unauthorized');
					if (closed) return rejectUpgrade(socket, 503, 'Service Unavailable');
					wss.handleUpgrade(req, socket, head, (ws) => attach(ws, r.hostId));
				},
				(e) => {
					log('error', 'authenticate failed', { error: String(e) });
					rejectUpgrade(socket, 500, 'Internal Server Error');
				}
			);
		},

		async call(hostId, method, params, opts = {}) {
			const c = connOf(hostId);
			try {
				return (await c.peer.call(method, params as never, {
					timeoutMs: opts.timeoutMs ?? defaultTimeout(method, params),
					signal: opts.signal,
					onProgress: opts.onProgress as never
				})) as never;
			} catch (e) {
				throw mapError(hostId, method, e);
			}
		},

		async openChannel(hostId, kind, params, opts = {}) {
			const c = connOf(hostId);
			try {
				return await c.peer.openChannel(kind, params, { timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal });
			} catch (e) {
				throw mapError(hostId, 'channel.open', e);
			}
		},

		isConnected(hostId) {
			const c = current.get(hostId);
			return !!c && c.ready && c.ws.readyState === WebSocket.OPEN;
		},

		connectedHostIds() {
			return [...current.keys()].filter((id) => this.isConnected(id));
		},

		helloOf(hostId) {
			return current.get(hostId)?.hello;
		},

		disconnect(hostId, reason = 'disconnected by the control plane') {
			const c = current.get(hostId);
			if (c) c.ws.close(CloseCodes.unauthorized, reason);
		},

		async close() {
			closed = true;
			clearInterval(pinger);
			const waits: Promise<void>[] = [];
			for (const c of all) {
				waits.push(new Promise((r) => c.ws.once('close', () => r())));
				c.ws.close(CloseCodes.shutdown, 'control plane shutting down');
			}
			const t = setTimeout(() => {
				for (const c of all) c.ws.terminate();
			}, 2000);
			await Promise.all(waits);
			clearTimeout(t);
			wss.close();
		}
	};
}
