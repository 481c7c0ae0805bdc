/**
 * Node runtime for protocol v1: request/response with ids, timeouts, cancellation and progress,
 * events, and multiplexed byte channels with credit-based flow control. Used by both ends:
 * the control plane's hub and the host agent. Handshake messages (hello/welcome/heartbeat/reject)
 * are handled by the owner, everything else is passed to `Peer.handleText` / `handleBinary`.
 */
import { Duplex } from 'node:stream';
import {
	CHANNEL_FRAME_MAX,
	CHANNEL_WINDOW,
	type ChannelKind,
	type ChannelKinds,
	type Message,
	type MethodMap,
	type WireError
} from './index';

// ------------------------------------------------------------------------------------------
// Errors

/** The remote side answered ok:false. */
export class RemoteError extends Error {
	readonly code: string;
	constructor(error: WireError) {
		super(error.message);
		this.name = 'RemoteError';
		this.code = error.code;
	}
}

/** The connection closed (or was never there) before an answer arrived. */
export class ConnectionClosedError extends Error {
	readonly code = 'UNAVAILABLE';
	constructor(message = 'connection closed') {
		super(message);
		this.name = 'ConnectionClosedError';
	}
}

export class CallTimeoutError extends Error {
	readonly code = 'TIMEOUT';
	constructor(method: string, ms: number) {
		super(`${method} timed out after ${ms} ms`);
		this.name = 'CallTimeoutError';
	}
}

export class CallCancelledError extends Error {
	readonly code = 'CANCELLED';
	constructor(method: string) {
		super(`${method} was cancelled`);
		this.name = 'CallCancelledError';
	}
}

/** Throw this from a request handler to answer with a specific error code. */
export class HandlerError extends Error {
	readonly code: string;
	constructor(code: string, message: string) {
		super(message);
		this.name = 'HandlerError';
		this.code = code;
	}
}

// ------------------------------------------------------------------------------------------
// Socket abstraction (the `ws` WebSocket satisfies it)

export interface SocketLike {
	send(data: string | Buffer, cb?: (err?: Error) => void): void;
	readonly bufferedAmount: number;
	readonly readyState: number;
}

export interface CallOptions<P = unknown> {
	timeoutMs?: number;
	signal?: AbortSignal;
	onProgress?: (data: P) => void;
}

export interface HandlerContext {
	/** Aborted when the caller cancels (or times out) or the connection closes. */
	signal: AbortSignal;
	/** Send a progress frame tied to this request (delivered before the response, in order). */
	progress(data: unknown): void;
	method: string;
}

export type RequestHandler = (method: string, params: unknown, ctx: HandlerContext) => Promise<unknown>;
export type ChannelHandler = (kind: ChannelKind, params: unknown, channel: Channel) => Promise<void> | void;

export interface PeerOptions {
	/** Answers incoming requests; unknown methods should throw HandlerError('METHOD_NOT_FOUND'). */
	onRequest?: RequestHandler;
	onEvent?: (name: string, data: unknown) => void;
	/** Agent side: a channel.open request arrived. Reject by throwing. */
	onChannel?: ChannelHandler;
	/** Default call timeout (30 s). */
	defaultTimeoutMs?: number;
}

interface Pending {
	method: string;
	resolve(v: unknown): void;
	reject(e: Error): void;
	onProgress?: (data: unknown) => void;
	cleanup(): void;
}

const OPEN = 1;
/** Stop writing channel data while the socket has this much queued. */
const SOCKET_HIGH_WATER = 8 * 1024 * 1024;

type P_<T> = T extends { params: infer P } ? P : never;
type R_<T> = T extends { result: infer R } ? R : never;
type G_<T> = T extends { progress: infer G } ? G : never;

export class Peer<Remote extends object = MethodMap> {
	private nextId = 1;
	private pending = new Map<number, Pending>();
	private inflight = new Map<number, AbortController>();
	private channels = new Map<number, Channel>();
	private nextChannel = 1;
	private closedError: Error | null = null;
	private drainWaiters: (() => void)[] = [];
	private drainTimer: NodeJS.Timeout | null = null;

	constructor(
		private readonly socket: SocketLike,
		private readonly opts: PeerOptions = {}
	) {}

	get closed(): boolean {
		return this.closedError !== null;
	}

	// -------------------------------------------------------------------- sending

	sendMessage(m: Message): boolean {
		if (this.closedError || this.socket.readyState !== OPEN) return false;
		try {
			this.socket.send(JSON.stringify(m));
			return true;
		} catch {
			return false;
		}
	}

	/** Wait until the socket's send buffer is below the high-water mark. */
	waitForSocketDrain(): Promise<void> {
		if (this.socket.bufferedAmount < SOCKET_HIGH_WATER || this.closedError) return Promise.resolve();
		return new Promise((resolve) => {
			this.drainWaiters.push(resolve);
			if (!this.drainTimer) {
				this.drainTimer = setInterval(() => {
					if (this.socket.bufferedAmount < SOCKET_HIGH_WATER / 2 || this.closedError) {
						clearInterval(this.drainTimer!);
						this.drainTimer = null;
						const w = this.drainWaiters;
						this.drainWaiters = [];
						for (const f of w) f();
					}
				}, 5);
			}
		});
	}

	sendFrame(ch: number, payload: Buffer): boolean {
		if (this.closedError || this.socket.readyState !== OPEN) return false;
		const frame = Buffer.allocUnsafe(4 + payload.length);
		frame.writeUInt32BE(ch, 0);
		payload.copy(frame, 4);
		try {
			this.socket.send(frame);
			return true;
		} catch {
			return false;
		}
	}

	// -------------------------------------------------------------------- calls

	call<M extends keyof Remote & string>(
		method: M,
		params: P_<Remote[M]>,
		opts: CallOptions<G_<Remote[M]>> = {}
	): Promise<R_<Remote[M]>> {
		if (this.closedError) return Promise.reject(new ConnectionClosedError(this.closedError.message));
		const id = this.nextId++;
		const timeoutMs = opts.timeoutMs ?? this.opts.defaultTimeoutMs ?? 30_000;
		return new Promise((resolve, reject) => {
			let timer: NodeJS.Timeout | null = null;
			const onAbort = () => {
				this.pending.delete(id);
				cleanup();
				this.sendMessage({ t: 'cancel', id });
				reject(new CallCancelledError(method));
			};
			const cleanup = () => {
				if (timer) clearTimeout(timer);
				opts.signal?.removeEventListener('abort', onAbort);
			};
			if (opts.signal?.aborted) {
				reject(new CallCancelledError(method));
				return;
			}
			opts.signal?.addEventListener('abort', onAbort, { once: true });
			if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
				timer = setTimeout(() => {
					this.pending.delete(id);
					cleanup();
					this.sendMessage({ t: 'cancel', id });
					reject(new CallTimeoutError(method, timeoutMs));
				}, timeoutMs);
			}
			this.pending.set(id, {
				method,
				resolve: resolve as (v: unknown) => void,
				reject,
				onProgress: opts.onProgress as ((d: unknown) => void) | undefined,
				cleanup
			});
			const sent = this.sendMessage({
				t: 'req',
				id,
				method,
				params: params ?? {},
				timeout_ms: timeoutMs > 0 && Number.isFinite(timeoutMs) ? timeoutMs : undefined
			});
			if (!sent) {
				this.pending.delete(id);
				cleanup();
				reject(new ConnectionClosedError('not connected'));
			}
		});
	}

	event(name: string, data: unknown): boolean {
		return this.sendMessage({ t: 'event', name, data });
	}

	// -------------------------------------------------------------------- channels

	/** Open a channel on the remote side. Resolves once the remote accepted it. */
	async openChannel<K extends ChannelKind>(kind: K, params: ChannelKinds[K], opts: CallOptions = {}): Promise<Channel> {
		const id = this.nextChannel++;
		const ch = new Channel(this, id, kind);
		this.channels.set(id, ch);
		try {
			await (this as Peer<MethodMap>).call('channel.open', { channel: id, kind, params }, opts);
		} catch (e) {
			this.channels.delete(id);
			ch.abandon();
			throw e;
		}
		return ch;
	}

	/** @internal */
	forgetChannel(id: number): void {
		this.channels.delete(id);
	}

	get channelCount(): number {
		return this.channels.size;
	}

	// -------------------------------------------------------------------- receiving

	handleBinary(buf: Buffer): void {
		if (buf.length < 4) return;
		const id = buf.readUInt32BE(0);
		const ch = this.channels.get(id);
		if (!ch) return;
		ch.receive(buf.subarray(4));
	}

	/** Handle a parsed non-handshake message. Returns false if the type is unknown. */
	handleText(m: Message): boolean {
		switch (m.t) {
			case 'req':
				void this.handleRequest(m.id, m.method, m.params, m.timeout_ms);
				return true;
			case 'res': {
				const p = this.pending.get(m.id);
				if (!p) return true;
				this.pending.delete(m.id);
				p.cleanup();
				if (m.ok) p.resolve(m.result);
				else p.reject(new RemoteError(m.error));
				return true;
			}
			case 'progress': {
				const p = this.pending.get(m.id);
				try {
					p?.onProgress?.(m.data);
				} catch {
					/* consumer error: ignore */
				}
				return true;
			}
			case 'cancel':
				this.inflight.get(m.id)?.abort(new CallCancelledError('request'));
				return true;
			case 'event':
				try {
					this.opts.onEvent?.(m.name, m.data);
				} catch {
					/* ignore */
				}
				return true;
			case 'ch.ack':
				this.channels.get(m.ch)?.credit(m.bytes);
				return true;
			case 'ch.eof':
				this.channels.get(m.ch)?.remoteEof();
				return true;
			case 'ch.close': {
				const ch = this.channels.get(m.ch);
				this.channels.delete(m.ch);
				ch?.destroyFromRemote(m.error);
				return true;
			}
			default:
				return false;
		}
	}

	private async handleRequest(id: number, method: string, params: unknown, timeoutMs?: number): Promise<void> {
		const ac = new AbortController();
		this.inflight.set(id, ac);
		let timer: NodeJS.Timeout | null = null;
		if (timeoutMs && timeoutMs > 0) timer = setTimeout(() => ac.abort(new Error('timeout')), timeoutMs + 1000);
		const ctx: HandlerContext = {
			signal: ac.signal,
			method,
			progress: (data) => {
				if (!ac.signal.aborted) this.sendMessage({ t: 'progress', id, data });
			}
		};
		try {
			let result: unknown;
			if (method === 'channel.open') {
				result = await this.acceptChannel(params);
			} else {
				if (!this.opts.onRequest) throw new HandlerError('METHOD_NOT_FOUND', `unknown method ${method}`);
				result = await this.opts.onRequest(method, params, ctx);
			}
			this.sendMessage({ t: 'res', id, ok: true, result: result ?? {} });
		} catch (e) {
			this.sendMessage({ t: 'res', id, ok: false, error: toWireError(e) });
		} finally {
			if (timer) clearTimeout(timer);
			this.inflight.delete(id);
		}
	}

	private async acceptChannel(raw: unknown): Promise<Record<string, never>> {
		const p = raw as { channel?: unknown; kind?: unknown; params?: unknown };
		if (typeof p?.channel !== 'number' || typeof p.kind !== 'string')
			throw new HandlerError('INVALID_PARAMS', 'channel.open needs channel and kind');
		if (!this.opts.onChannel) throw new HandlerError('CHANNEL_KIND_UNSUPPORTED', 'channels not supported');
		if (this.channels.has(p.channel)) throw new HandlerError('INVALID_PARAMS', 'channel id in use');
		const ch = new Channel(this, p.channel, p.kind as ChannelKind);
		this.channels.set(p.channel, ch);
		try {
			await this.opts.onChannel(p.kind as ChannelKind, p.params ?? {}, ch);
		} catch (e) {
			this.channels.delete(p.channel);
			ch.abandon();
			throw e;
		}
		return {};
	}

	/** Fail everything: pending calls, in-flight handlers, channels. */
	close(err: Error = new ConnectionClosedError()): void {
		if (this.closedError) return;
		this.closedError = err;
		for (const [, p] of this.pending) {
			p.cleanup();
			p.reject(err instanceof ConnectionClosedError ? err : new ConnectionClosedError(err.message));
		}
		this.pending.clear();
		for (const [, ac] of this.inflight) ac.abort(err);
		this.inflight.clear();
		for (const [, ch] of this.channels) ch.destroyFromRemote({ code: 'UNAVAILABLE', message: err.message });
		this.channels.clear();
		if (this.drainTimer) clearInterval(this.drainTimer);
		const w = this.drainWaiters;
		this.drainWaiters = [];
		for (const f of w) f();
	}
}

export function toWireError(e: unknown): WireError {
	if (e && typeof e === 'object') {
		const code = (e as { code?: unknown }).code;
		const message = (e as { message?: unknown }).message;
		if (e instanceof HandlerError || e instanceof RemoteError)
			return { code: String(code), message: String(message) };
		if (typeof message === 'string')
			return { code: typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'INTERNAL', message };
	}
	return { code: 'INTERNAL', message: String(e) };
}

// ------------------------------------------------------------------------------------------
// Channel: a Duplex over [u32 id][payload] frames with credit-based flow control.
//
// Each direction starts with CHANNEL_WINDOW bytes of credit. The receiver acks bytes once its
// consumer has taken them (push() below the high-water mark, or on _read), so neither side
// buffers more than about one window plus the stream's high-water mark.

export class Channel extends Duplex {
	readonly id: number;
	readonly kind: ChannelKind;
	private sendCredit = CHANNEL_WINDOW;
	private unacked = 0;
	private creditWaiter: (() => void) | null = null;
	private remoteClosed = false;
	private remoteEnded = false;

	constructor(
		private readonly peer: Peer<object>,
		id: number,
		kind: ChannelKind
	) {
		super({ highWaterMark: 256 * 1024, allowHalfOpen: true });
		this.id = id;
		this.kind = kind;
	}

	/** @internal data frame from the remote */
	receive(payload: Buffer): void {
		if (this.remoteEnded || this.destroyed) return;
		this.unacked += payload.length;
		const more = this.push(payload);
		if (more && this.unacked >= CHANNEL_WINDOW / 4) this.flushAck();
	}

	private flushAck(): void {
		if (this.unacked > 0 && !this.remoteClosed) {
			this.peer.sendMessage({ t: 'ch.ack', ch: this.id, bytes: this.unacked });
			this.unacked = 0;
		}
	}

	/** @internal */
	credit(bytes: number): void {
		this.sendCredit += bytes;
		const w = this.creditWaiter;
		this.creditWaiter = null;
		w?.();
	}

	/** @internal */
	remoteEof(): void {
		if (this.remoteEnded) return;
		this.remoteEnded = true;
		this.push(null);
	}

	/** @internal the remote closed the channel (or the connection went away) */
	destroyFromRemote(error?: WireError): void {
		this.remoteClosed = true;
		const w = this.creditWaiter;
		this.creditWaiter = null;
		w?.();
		if (this.destroyed) return;
		if (error) {
			// Never crash a process over a stream nobody listens to errors on.
			this.destroy(this.listenerCount('error') > 0 ? new RemoteError(error) : undefined);
			return;
		}
		// Graceful close: keep buffered data readable; finish both sides.
		if (!this.remoteEnded) {
			this.remoteEnded = true;
			this.push(null);
		}
		if (!this.writableEnded) this.end();
	}

	/** @internal the channel was never accepted */
	abandon(): void {
		this.remoteClosed = true;
		this.destroy();
	}

	override _read(): void {
		this.flushAck();
	}

	override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
		void this.writeChunk(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)).then(
			() => cb(),
			(e: Error) => cb(e)
		);
	}

	private async writeChunk(buf: Buffer): Promise<void> {
		let off = 0;
		while (off < buf.length) {
			if (this.remoteClosed) throw new ConnectionClosedError('channel closed by remote');
			if (this.sendCredit <= 0) {
				await new Promise<void>((r) => (this.creditWaiter = r));
				continue;
			}
			await this.peer.waitForSocketDrain();
			const n = Math.min(CHANNEL_FRAME_MAX, this.sendCredit, buf.length - off);
			if (!this.peer.sendFrame(this.id, buf.subarray(off, off + n)))
				throw new ConnectionClosedError('connection closed');
			this.sendCredit -= n;
			off += n;
		}
	}

	override _final(cb: (err?: Error | null) => void): void {
		if (!this.remoteClosed) this.peer.sendMessage({ t: 'ch.eof', ch: this.id });
		cb();
	}

	override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
		if (!this.remoteClosed) {
			this.remoteClosed = true;
			this.peer.sendMessage({
				t: 'ch.close',
				ch: this.id,
				// A HandlerError's code travels (file channels end with NOT_FOUND, FILE_TOO_LARGE…).
				error: err ? { code: err instanceof HandlerError ? err.code : 'CHANNEL_ERROR', message: err.message } : undefined
			});
		}
		this.peer.forgetChannel(this.id);
		const w = this.creditWaiter;
		this.creditWaiter = null;
		w?.();
		cb(err);
	}
}
