/**
 * Files in sandboxes: calls to the sandbox's agent (files.* methods, file channels), streaming
 * between HTTP bodies and agent channels without buffering, error mapping and events.
 *
 * Events (type, data): `sandbox.file.written {sandbox_id, path, size_bytes}`,
 * `sandbox.file.deleted {sandbox_id, path, recursive}`, `sandbox.file.moved {sandbox_id, from, to}`,
 * `sandbox.file.copied {sandbox_id, from, to}`, `sandbox.file.dir_created {sandbox_id, path}`,
 * `sandbox.file.mode_changed {sandbox_id, path, mode}`, `sandbox.file.exported {sandbox_id, export_id, paths}`.
 */
import type { Readable } from 'node:stream';
import type { Channel } from '$lib/protocol/peer';
import { RemoteError } from '$lib/protocol/peer';
import type { FileInfo, FileReadHeader, FileWatchEvent, FileWriteResult, MethodName, ParamsOf, ResultOf } from '$lib/protocol';
import type { Sandbox } from '../db/schema';
import { emit } from '../events/service';
import { agentCall } from '../hosts/connections';
import { openAgentChannel } from '../hosts/channels';
import { AgentError } from '../hosts/hub';
import { ApiError, conflict, validationError } from '../http/errors';
import { agentFailure, ensureRunning } from '../sandboxes/service';
import { FILE_POLICY } from './paths';

/** JSON/base64 writes: decoded content at most this big (413 FILE_TOO_LARGE). */
export const MAX_JSON_WRITE_BYTES = 10 * 1024 * 1024;
/** `?encoding=utf8` reads answer JSON: files up to this size. */
export const MAX_TEXT_READ_BYTES = 10 * 1024 * 1024;

/** Raw PUT and multipart uploads: HANGAR_MAX_UPLOAD_BYTES (default 1 GiB). */
export function maxUploadBytes(): number {
	const v = Number(process.env.HANGAR_MAX_UPLOAD_BYTES);
	return Number.isFinite(v) && v > 0 ? Math.floor(v) : 1024 * 1024 * 1024;
}

export const tooLarge = (limit: number, what = 'the file') =>
	new ApiError(413, 'FILE_TOO_LARGE', `${what} is larger than the limit of ${limit} bytes`, { limit_bytes: limit });

// ------------------------------------------------------------------------------------------
// Errors

const AGENT_TIMEOUT_MS = 135_000;

/** Maps an agent error (call, channel open, channel close) to the API error. */
export function filesFailure(err: unknown): ApiError {
	if (err instanceof ApiError) return err;
	const code = err instanceof AgentError || err instanceof RemoteError ? err.code : null;
	const message = err instanceof Error ? err.message : String(err);
	switch (code) {
		case 'NOT_FOUND':
			return new ApiError(404, 'NOT_FOUND', message || 'file not found');
		case 'FORBIDDEN_PATH':
			return new ApiError(403, 'FORBIDDEN_PATH', message || 'path not allowed');
		case 'FILE_TOO_LARGE':
			return new ApiError(413, 'FILE_TOO_LARGE', message);
		case 'ALREADY_EXISTS':
		case 'NOT_EMPTY':
			return conflict(message, { reason: code.toLowerCase() });
		case 'IS_A_DIRECTORY':
		case 'NOT_A_DIRECTORY':
			return new ApiError(422, 'VALIDATION_ERROR', message, { reason: code.toLowerCase(), fields: { path: [message] } });
		case 'INVALID_PARAMS':
			return validationError(message, { path: [message] });
		case 'NO_SPACE':
			return new ApiError(507, 'INTERNAL_ERROR', 'no space left in the sandbox', { reason: 'no_space' });
		case 'CHANNEL_ERROR':
		case 'UNAVAILABLE':
			return new ApiError(502, 'AGENT_UNAVAILABLE', `the transfer with the sandbox host failed: ${message}`);
	}
	if (err instanceof RemoteError) return new ApiError(502, 'AGENT_UNAVAILABLE', `host agent error: ${message}`, { agent_code: err.code });
	return agentFailure(err);
}

// ------------------------------------------------------------------------------------------
// Calls

type FilesMethod = Extract<MethodName, `files.${string}`>;
type CallParams<M extends FilesMethod> = Omit<ParamsOf<M>, 'sandbox_id' | 'policy'>;

/** A files.* method on the sandbox's agent (the sandbox must be running: ensureRunning first). */
export async function filesCall<M extends FilesMethod>(row: Sandbox, method: M, params: CallParams<M>, signal?: AbortSignal): Promise<ResultOf<M>> {
	try {
		return await agentCall(row.hostId!, method, { ...params, sandbox_id: row.id, policy: FILE_POLICY } as ParamsOf<M>, { timeoutMs: AGENT_TIMEOUT_MS, signal });
	} catch (e) {
		throw filesFailure(e);
	}
}

/** Loads-and-resumes helper for routes: the running sandbox. */
export const running = (row: Sandbox) => ensureRunning(row);

export async function fileEvent(row: Sandbox, type: string, data: Record<string, unknown>): Promise<void> {
	await emit({ organizationId: row.organizationId, workspaceId: row.workspaceId, type, resourceType: 'sandbox', resourceId: row.id, data: { sandbox_id: row.id, ...data } });
}

export const stat = (row: Sandbox, path: string, signal?: AbortSignal): Promise<FileInfo> => filesCall(row, 'files.stat', { path }, signal);

// ------------------------------------------------------------------------------------------
// Streams

/** Reads the first line of a channel (the header of file-read / the result of file-write). */
function readLine(ch: Channel, max = 64 * 1024): Promise<string> {
	return new Promise((resolve, reject) => {
		let buf = Buffer.alloc(0);
		const done = (err: Error | null, line?: string) => {
			ch.off('readable', onReadable);
			ch.off('end', onEnd);
			ch.off('error', onError);
			if (err) reject(err);
			else resolve(line!);
		};
		const onReadable = () => {
			let c: Buffer | null;
			while ((c = ch.read() as Buffer | null) !== null) {
				buf = Buffer.concat([buf, c]);
				const nl = buf.indexOf(10);
				if (nl >= 0) {
					if (nl + 1 < buf.length) ch.unshift(buf.subarray(nl + 1));
					return done(null, buf.toString('utf8', 0, nl));
				}
				if (buf.length > max) return done(new Error('header line too long'));
			}
		};
		const onEnd = () => done(new RemoteError({ code: 'CHANNEL_ERROR', message: 'the channel ended early' }));
		const onError = (e: Error) => done(e);
		ch.on('readable', onReadable);
		ch.on('end', onEnd);
		ch.on('error', onError);
		onReadable();
	});
}

/**
 * A Node stream's bytes (an agent channel, a request) as a web stream with backpressure: a chunk
 * is read only when the consumer asks for one, so a slow client stalls the agent, not our memory.
 */
export function channelToWeb(ch: Readable & { destroy(err?: Error): unknown }): ReadableStream<Uint8Array> {
	const it = ch[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
	return new ReadableStream<Uint8Array>(
		{
			async pull(controller) {
				try {
					const { value, done } = await it.next();
					if (done) controller.close();
					else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
				} catch (e) {
					controller.error(e);
				}
			},
			cancel() {
				ch.destroy(new Error('the client went away'));
			}
		},
		{ highWaterMark: 1 }
	);
}

const safeFilename = (name: string) => name.replace(/[\r\n"\\]/g, '_');
/** `attachment; filename="…"; filename*=UTF-8''…` */
export function contentDisposition(name: string, kind: 'attachment' | 'inline' = 'attachment'): string {
	const ascii = safeFilename(name).replace(/[^\x20-\x7e]/g, '_');
	return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Headers every file body carries: bytes, never rendered as a page of the API origin. */
const BYTES_HEADERS = { 'content-type': 'application/octet-stream', 'cache-control': 'no-store', 'content-security-policy': "sandbox; default-src 'none'" };

/** Opens a file for reading: its size and the channel its bytes come on. */
export async function openRead(row: Sandbox, path: string, signal?: AbortSignal): Promise<{ size: number; channel: Channel }> {
	let ch: Channel;
	try {
		ch = await openAgentChannel(row.hostId!, 'file-read', { sandbox_id: row.id, path, policy: FILE_POLICY }, { signal });
	} catch (e) {
		throw filesFailure(e);
	}
	ch.on('error', () => undefined);
	try {
		const head = JSON.parse(await readLine(ch)) as FileReadHeader;
		return { size: head.size, channel: ch };
	} catch (e) {
		ch.destroy(new Error('bad file-read header'));
		throw filesFailure(e);
	}
}

/** The raw bytes of a file as a streamed response (any size). */
export async function fileResponse(row: Sandbox, path: string, opts: { download?: string; signal?: AbortSignal } = {}): Promise<Response> {
	const f = await openRead(row, path, opts.signal);
	return new Response(channelToWeb(f.channel), {
		headers: {
			...BYTES_HEADERS,
			'content-length': String(f.size),
			...(opts.download ? { 'content-disposition': contentDisposition(opts.download) } : {})
		}
	});
}

/** Reads a whole (small) file into memory: for `?encoding=utf8` and the dashboard's editor. */
export async function readSmall(row: Sandbox, path: string, max = MAX_TEXT_READ_BYTES, signal?: AbortSignal): Promise<Buffer> {
	const f = await openRead(row, path, signal);
	if (f.size > max) {
		f.channel.destroy(new Error('too large'));
		throw tooLarge(max, `${path}`);
	}
	const parts: Buffer[] = [];
	try {
		for await (const c of f.channel as AsyncIterable<Buffer>) parts.push(c);
	} catch (e) {
		throw filesFailure(e);
	}
	return Buffer.concat(parts);
}

/** A tar archive (GNU format) of one or more paths, streamed. */
export async function tarResponse(row: Sandbox, paths: string[], filename: string, signal?: AbortSignal): Promise<Response> {
	let ch: Channel;
	try {
		ch = await openAgentChannel(row.hostId!, 'file-tar', { sandbox_id: row.id, paths, policy: FILE_POLICY }, { signal });
	} catch (e) {
		throw filesFailure(e);
	}
	ch.on('error', () => undefined);
	return new Response(channelToWeb(ch), {
		headers: { ...BYTES_HEADERS, 'content-type': 'application/x-tar', 'content-disposition': contentDisposition(filename) }
	});
}

type Chunks = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

async function* chunksOf(body: Chunks): AsyncGenerator<Uint8Array> {
	if (!(body instanceof ReadableStream)) {
		yield* body;
		return;
	}
	const reader = body.getReader();
	try {
		for (;;) {
			const { value, done } = await reader.read();
			if (done) return;
			yield value;
		}
	} finally {
		reader.releaseLock();
	}
}

function waitDrain(ch: Channel): Promise<void> {
	return new Promise((resolve, reject) => {
		const off = () => {
			ch.off('drain', onDrain);
			ch.off('close', onClose);
		};
		const onDrain = () => (off(), resolve());
		const onClose = () => (off(), reject(new RemoteError({ code: 'CHANNEL_ERROR', message: 'the channel closed during the upload' })));
		ch.on('drain', onDrain);
		ch.on('close', onClose);
	});
}

/**
 * Streams bytes into a file in the sandbox: a temp beside the target, renamed into place when
 * the body ends (atomic replace). Past `max` bytes it stops reading and fails with 413; any
 * failure aborts the channel, so the agent removes the temp and the old file stays.
 */
export async function writeStream(
	row: Sandbox,
	path: string,
	body: Chunks,
	opts: { max: number; mode?: number; signal?: AbortSignal }
): Promise<{ path: string; size_bytes: number }> {
	let ch: Channel;
	try {
		ch = await openAgentChannel(
			row.hostId!,
			'file-write',
			{ sandbox_id: row.id, path, policy: FILE_POLICY, max_bytes: opts.max, ...(opts.mode !== undefined ? { mode: opts.mode } : {}) },
			{ signal: opts.signal }
		);
	} catch (e) {
		throw filesFailure(e);
	}
	ch.on('error', () => undefined);
	const result = readLine(ch);
	result.catch(() => undefined);
	let n = 0;
	try {
		for await (const chunk of chunksOf(body)) {
			n += chunk.byteLength;
			if (n > opts.max) throw tooLarge(opts.max);
			if (ch.destroyed) break;
			if (!ch.write(chunk)) await waitDrain(ch);
		}
		ch.end();
	} catch (e) {
		// Aborting with an error tells the agent not to commit (a plain close would read as EOF).
		ch.destroy(new Error('upload aborted'));
		if (e instanceof ApiError) throw e;
		// The agent's own reason (FILE_TOO_LARGE, NO_SPACE…) wins over a broken pipe.
		const agentErr: unknown = await Promise.race([result.then(() => null, (x: unknown) => x), new Promise((r) => setTimeout(() => r(null), 1000))]);
		if (agentErr instanceof RemoteError) throw filesFailure(agentErr);
		if (e instanceof RemoteError || e instanceof AgentError) throw filesFailure(e);
		// An error of the source body (client went away, multipart limits): the caller's to map.
		throw e;
	}
	let r: FileWriteResult;
	try {
		r = JSON.parse(await result) as FileWriteResult;
	} catch (e) {
		throw filesFailure(e);
	} finally {
		ch.destroy();
	}
	if (!r.ok) throw filesFailure(new RemoteError(r.error));
	return { path: r.path, size_bytes: r.size_bytes };
}

/** Watches a directory: calls `onEvent` for each change until `signal` aborts; resolves when ready. */
export async function watch(
	row: Sandbox,
	path: string,
	opts: { recursive?: boolean; signal: AbortSignal; onEvent: (e: FileWatchEvent) => void; onEnd: (err?: Error) => void }
): Promise<Channel> {
	let ch: Channel;
	try {
		ch = await openAgentChannel(row.hostId!, 'file-watch', { sandbox_id: row.id, path, recursive: opts.recursive, policy: FILE_POLICY }, { signal: opts.signal });
	} catch (e) {
		throw filesFailure(e);
	}
	let buf = '';
	ch.setEncoding('utf8');
	ch.on('data', (s: string) => {
		buf += s;
		const lines = buf.split('\n');
		buf = lines.pop() ?? '';
		for (const l of lines) {
			if (!l.trim()) continue;
			try {
				opts.onEvent(JSON.parse(l) as FileWatchEvent);
			} catch {
				/* skip a bad line */
			}
		}
	});
	ch.on('error', (e: Error) => opts.onEnd(e));
	ch.on('end', () => opts.onEnd());
	opts.signal.addEventListener('abort', () => ch.destroy(), { once: true });
	return ch;
}
