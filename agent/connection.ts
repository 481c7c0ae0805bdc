/**
 * The agent's one WebSocket to the control plane: dial with the host key, hello/welcome,
 * heartbeats, request dispatch, events (queued while disconnected), reconnect with exponential
 * backoff + jitter (cap 5 s). Sandboxes keep running across reconnects.
 */
import { EventEmitter } from 'node:events';
import WebSocket, { type RawData } from 'ws';
import {
	AGENT_WS_PATH,
	HEARTBEAT_INTERVAL_MS,
	PROTOCOL_HEADER,
	PROTOCOL_VERSION,
	parseMessage,
	type ControlMethods,
	type Hello,
	type Usage,
	type Welcome
} from '../src/lib/protocol/index';
import { Peer, type ChannelHandler, type RequestHandler } from '../src/lib/protocol/peer';
import { log } from './log';

export interface ConnectionOptions {
	/** Control plane base URL (http(s)://host[:port]) or a ws(s):// URL. */
	url: string;
	hostKey: string;
	hello(): Promise<Hello>;
	onWelcome(w: Welcome): Promise<void>;
	onRequest: RequestHandler;
	onChannel: ChannelHandler;
	usage(): Usage;
	maxBackoffMs?: number;
}

const MAX_QUEUED_EVENTS = 1000;
const SILENCE_MS = 35_000;

export function agentWsUrl(base: string): string {
	const u = new URL(base);
	if (u.protocol === 'http:') u.protocol = 'ws:';
	else if (u.protocol === 'https:') u.protocol = 'wss:';
	if (!u.pathname.endsWith(AGENT_WS_PATH)) u.pathname = u.pathname.replace(/\/$/, '') + AGENT_WS_PATH;
	return u.toString();
}

export class AgentConnection extends EventEmitter {
	private ws: WebSocket | null = null;
	private peer: Peer<ControlMethods> | null = null;
	private ready = false;
	private stopped = false;
	private attempt = 0;
	private retryTimer: NodeJS.Timeout | null = null;
	private hbTimer: NodeJS.Timeout | null = null;
	private lastSeen = 0;
	private queue: { name: string; data: unknown }[] = [];
	hostId: string | null = null;
	connects = 0;

	constructor(private readonly o: ConnectionOptions) {
		super();
	}

	get connected(): boolean {
		return this.ready;
	}

	start(): void {
		this.stopped = false;
		this.dial();
	}

	async stop(): Promise<void> {
		this.stopped = true;
		if (this.retryTimer) clearTimeout(this.retryTimer);
		this.stopHeartbeat();
		const ws = this.ws;
		if (ws && ws.readyState !== WebSocket.CLOSED) {
			await new Promise<void>((resolve) => {
				ws.once('close', () => resolve());
				ws.close(1000, 'agent stopping');
				setTimeout(() => {
					ws.terminate();
					resolve();
				}, 1000).unref();
			});
		}
	}

	/** Send an event now, or queue it until the next welcome. */
	emitEvent(name: string, data: unknown): void {
		if (this.ready && this.peer?.event(name, data)) return;
		this.queue.push({ name, data });
		if (this.queue.length > MAX_QUEUED_EVENTS) this.queue.shift();
	}

	/** Call a method on the control plane. */
	call<M extends keyof ControlMethods & string>(method: M, params: ControlMethods[M]['params']) {
		if (!this.peer || !this.ready) return Promise.reject(new Error('not connected'));
		return this.peer.call(method, params as never);
	}

	private dial(): void {
		if (this.stopped) return;
		const url = agentWsUrl(this.o.url);
		const ws = new WebSocket(url, {
			headers: { Authorization: `Bearer ${this.o.hostKey}`, [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) },
			handshakeTimeout: 10_000,
			maxPayload: 16 * 1024 * 1024,
			perMessageDeflate: false
		});
		this.ws = ws;
		const peer = new Peer<ControlMethods>(ws, { onRequest: this.o.onRequest, onChannel: this.o.onChannel });
		this.peer = peer;
		ws.on('unexpected-response', (_req, res) => {
			let body = '';
			res.on('data', (c: Buffer) => (body += c.toString('utf8')));
			res.on('end', () => {
				if (res.statusCode === 401) log.error('control plane refused the host key (401)', { url });
				else if (res.statusCode === 426) log.error('protocol mismatch', { url, detail: body.trim() });
				else log.warn('control plane refused the connection', { url, status: res.statusCode, body: body.slice(0, 200) });
			});
			ws.terminate();
		});
		ws.on('open', () => {
			this.lastSeen = Date.now();
			void this.o
				.hello()
				.then((h) => {
					if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'hello', ...h }));
				})
				.catch((e) => {
					log.error('building hello failed', { error: String(e) });
					ws.terminate();
				});
		});
		ws.on('ping', () => (this.lastSeen = Date.now()));
		ws.on('pong', () => (this.lastSeen = Date.now()));
		ws.on('message', (data: RawData, isBinary: boolean) => {
			this.lastSeen = Date.now();
			const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
			if (isBinary) {
				peer.handleBinary(buf);
				return;
			}
			const m = parseMessage(buf.toString('utf8'));
			if (!m) return;
			if (m.t === 'welcome') {
				const { t: _t, ...w } = m;
				void this.onWelcome(ws, w as Welcome);
				return;
			}
			if (m.t === 'reject') {
				log.error('control plane rejected the agent', { code: m.code, message: m.message });
				return;
			}
			peer.handleText(m);
		});
		ws.on('close', (code, reason) => {
			const wasReady = this.ready;
			this.ready = false;
			this.stopHeartbeat();
			peer.close();
			if (this.ws === ws) this.ws = null;
			if (wasReady) {
				log.warn('disconnected from control plane', { code, reason: reason.toString() });
				this.emit('disconnected');
			}
			this.scheduleReconnect(code === 4000 /* protocol mismatch */);
		});
		ws.on('error', (e) => log.debug('socket error', { error: String(e) }));
	}

	private async onWelcome(ws: WebSocket, w: Welcome): Promise<void> {
		if (w.protocol !== PROTOCOL_VERSION) {
			log.error('protocol mismatch in welcome', { theirs: w.protocol, ours: PROTOCOL_VERSION });
			ws.close(4000, 'protocol mismatch');
			return;
		}
		this.hostId = w.host_id;
		try {
			await this.o.onWelcome(w);
		} catch (e) {
			log.error('handling welcome failed', { error: String(e) });
		}
		if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
		this.ready = true;
		this.attempt = 0;
		this.connects++;
		log.info('connected to control plane', { host_id: w.host_id, destroyed: w.destroy.length });
		const q = this.queue;
		this.queue = [];
		for (const e of q) this.peer?.event(e.name, e.data);
		this.startHeartbeat(ws);
		this.emit('connected', w);
	}

	private startHeartbeat(ws: WebSocket): void {
		this.stopHeartbeat();
		const beat = () => {
			if (Date.now() - this.lastSeen > SILENCE_MS) {
				log.warn('control plane silent, reconnecting');
				ws.terminate();
				return;
			}
			try {
				this.peer?.sendMessage({ t: 'heartbeat', usage: this.o.usage() });
			} catch (e) {
				log.debug('heartbeat failed', { error: String(e) });
			}
		};
		beat();
		this.hbTimer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
	}

	private stopHeartbeat(): void {
		if (this.hbTimer) clearInterval(this.hbTimer);
		this.hbTimer = null;
	}

	private scheduleReconnect(slow = false): void {
		if (this.stopped) return;
		const cap = this.o.maxBackoffMs ?? 5000;
		const base = slow ? cap : Math.min(cap, 200 * 2 ** this.attempt);
		this.attempt++;
		const delay = base / 2 + Math.random() * (base / 2);
		this.retryTimer = setTimeout(() => this.dial(), delay);
	}
}
