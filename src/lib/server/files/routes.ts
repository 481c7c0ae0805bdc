/**
 * The files API's request handlers; the route files under
 * src/routes/api/v1/sandboxes/[id]/files/** and …/exports/** only wire them.
 *
 * Reads need `sandboxes:read`, changes `sandboxes:write`; every handler resumes a paused
 * sandbox (ensureRunning). The SDK reads `GET /files/{path without leading /}`: the rest-param
 * route serves those, and a named route (`/files/tree`, `/files/read`…) gives the raw file of
 * that name with `?raw=1` (or for a method it does not otherwise have).
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { RequestHandler } from '@sveltejs/kit';
import type { Sandbox } from '../db/schema';
import { env } from '../env';
import { api, type ApiContext } from '../http/handler';
import { ApiError, validationError } from '../http/errors';
import { json } from '../http/respond';
import { sseResponse } from '../http/sse';
import { parseValue } from '../http/validate';
import { loadSandbox } from '../sandboxes/route-helpers';
import { MultipartError, MultipartReader, MultipartTooLarge, boundaryOf } from './multipart';
import { allowedPath, baseName, checkPath, forbiddenPath, joinPath, normalizePath } from './paths';
import {
	MAX_JSON_WRITE_BYTES,
	channelToWeb,
	fileEvent,
	fileResponse,
	filesCall,
	filesFailure,
	maxUploadBytes,
	readSmall,
	running,
	stat,
	tarResponse,
	tooLarge,
	watch,
	writeStream
} from './service';
import type { FileWatchEvent } from '$lib/protocol';
import { RemoteError } from '$lib/protocol/peer';

// ------------------------------------------------------------------------------------------
// Input helpers

/** JSON bodies of the files routes are read with a cap (uploads are not JSON). */
const SMALL_BODY = 1024 * 1024;
const WRITE_BODY = 64 * 1024 * 1024;

async function readBody(request: Request, max: number): Promise<unknown> {
	const len = Number(request.headers.get('content-length'));
	if (Number.isFinite(len) && len > max) throw tooLarge(max, 'the request body');
	if (!request.body) return {};
	const reader = request.body.getReader();
	const parts: Uint8Array[] = [];
	let n = 0;
	for (;;) {
		const { value, done } = await reader.read();
		if (done) break;
		n += value.byteLength;
		if (n > max) {
			reader.releaseLock();
			throw tooLarge(max, 'the request body');
		}
		parts.push(value);
	}
	const text = Buffer.concat(parts).toString('utf8');
	if (!text.trim()) return {};
	try {
		return JSON.parse(text);
	} catch {
		throw validationError('the body is not valid JSON', { _: ['invalid JSON'] });
	}
}

async function body<S extends z.ZodType>(ctx: ApiContext, schema: S, max = SMALL_BODY): Promise<z.infer<S>> {
	return parseValue(await readBody(ctx.request, max), schema, 'invalid request body');
}

const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
/** Numbers are modes as numbers (0o755 = 493); strings are octal ("755", "0755", "0o755"). */
const modeSchema = z
	.union([z.number().int(), z.string().regex(/^(0o?)?[0-7]{1,4}$/i, 'an octal mode like "0644"').transform((s) => parseInt(s.replace(/^0o/i, ''), 8))])
	.refine((m) => m >= 0 && m <= 0o7777, 'mode must be between 0 and 0o7777');

const qbool = (ctx: ApiContext, name: string, dflt: boolean) => {
	const v = ctx.url.searchParams.get(name);
	if (v === null || v === '') return dflt;
	return v === 'true' || v === '1' || v === 'yes';
};

async function sandboxOf(ctx: ApiContext): Promise<Sandbox> {
	return running(await loadSandbox(ctx));
}

/** `{data: x, ...x}`: the SDK unwraps `data`, doc-style clients read the top level. */
const both = (x: Record<string, unknown>, status = 200) => json({ ...x, data: x }, status);

const B64 = /^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/;
function decodeContent(content: string, encoding: 'utf8' | 'base64', field = 'content'): Buffer {
	if (encoding === 'base64') {
		if (content.length > (MAX_JSON_WRITE_BYTES * 4) / 3 + 16) throw tooLarge(MAX_JSON_WRITE_BYTES);
		if (!B64.test(content)) throw validationError(`${field} is not base64`, { [field]: ['not base64'] });
		const buf = Buffer.from(content, 'base64');
		if (buf.length > MAX_JSON_WRITE_BYTES) throw tooLarge(MAX_JSON_WRITE_BYTES);
		return buf;
	}
	const buf = Buffer.from(content, 'utf8');
	if (buf.length > MAX_JSON_WRITE_BYTES) throw tooLarge(MAX_JSON_WRITE_BYTES);
	return buf;
}

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
	yield buf;
}

async function writeBuffer(ctx: ApiContext, row: Sandbox, path: string, data: Buffer, mode?: number) {
	const r = await writeStream(row, path, once(data), { max: MAX_JSON_WRITE_BYTES, mode, signal: ctx.request.signal });
	await fileEvent(row, 'sandbox.file.written', { path: r.path, size_bytes: r.size_bytes });
	return r;
}

// ------------------------------------------------------------------------------------------
// Reads

/** GET raw bytes of a file (the SDK's read). */
export function rawGet(fixed?: string): RequestHandler {
	return api({ scope: 'sandboxes:read' }, async (ctx) => {
		const path = checkPath(fixed ?? '/' + (ctx.params.path ?? ''), 'read');
		return fileResponse(await sandboxOf(ctx), path, { signal: ctx.request.signal });
	});
}

/** HEAD of a raw file: its size and headers from a stat, no bytes read. */
export function rawHead(): RequestHandler {
	return api({ scope: 'sandboxes:read' }, async (ctx) => {
		const path = checkPath('/' + (ctx.params.path ?? ''), 'read');
		const info = await stat(await sandboxOf(ctx), path, ctx.request.signal);
		if (info.is_dir) throw validationError(`${path} is a directory`, { path: ['is a directory'] });
		return new Response(null, {
			headers: { 'content-type': 'application/octet-stream', 'content-length': String(info.size), 'last-modified': new Date(info.modified_at).toUTCString(), 'cache-control': 'no-store' }
		});
	});
}

/** GET /files/read?path=[&encoding=utf8|base64] — raw bytes, or JSON `{content}` with an encoding. */
export const readRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const q = ctx.url.searchParams;
	if (q.get('raw') === '1' && !q.get('path')) return fileResponse(await sandboxOf(ctx), checkPath('/read', 'read'));
	const path = checkPath(q.get('path'), 'read');
	const row = await sandboxOf(ctx);
	const encoding = q.get('encoding');
	if (!encoding || encoding === 'binary' || encoding === 'raw') return fileResponse(row, path, { signal: ctx.request.signal });
	if (encoding !== 'utf8' && encoding !== 'utf-8' && encoding !== 'base64' && encoding !== 'text')
		throw validationError('encoding is utf8, base64 or binary', { encoding: ['utf8, base64 or binary'] });
	const buf = await readSmall(row, path, undefined, ctx.request.signal);
	const enc = encoding === 'base64' ? 'base64' : 'utf8';
	return both({ path, content: buf.toString(enc), encoding: enc, size: buf.length });
});

/** GET /files?path= and /files/list?path= — `{path, entries}` (also under data). */
export const listRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const q = ctx.url.searchParams;
	const path = checkPath(q.get('path') || '/workspace', 'read');
	const limit = Number(q.get('limit')) || undefined;
	const r = await filesCall(await sandboxOf(ctx), 'files.list', { path, limit }, ctx.request.signal);
	return both({ path: r.path, entries: r.entries, truncated: r.truncated });
});

const pathBody = z.object({ path: z.string() });

/** GET /files/stat?path= and POST /files/stat {path} — `{data: {path, name, size, is_dir, mode, modified_at, …}}`. */
export const statRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const raw = ctx.request.method === 'GET' ? ctx.url.searchParams.get('path') : (await body(ctx, pathBody)).path;
	if (ctx.request.method === 'GET' && ctx.url.searchParams.get('raw') === '1' && !raw) return fileResponse(await sandboxOf(ctx), checkPath('/stat', 'read'));
	const path = checkPath(raw, 'read');
	const info = await stat(await sandboxOf(ctx), path, ctx.request.signal);
	return json({ data: info });
});

/** GET /files/tree?path=&depth=3 — `{data: {path, name, type, size, modified_at, children}}`; `?raw=1` reads the file `/tree`. */
export const treeRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const q = ctx.url.searchParams;
	if (q.get('raw') === '1') return fileResponse(await sandboxOf(ctx), checkPath('/tree', 'read'));
	const path = checkPath(q.get('path') || '/workspace', 'read');
	const depth = q.get('depth') === null ? 3 : Number(q.get('depth'));
	if (!Number.isInteger(depth) || depth < 0 || depth > 20) throw validationError('depth is 0…20', { depth: ['0…20'] });
	const r = await filesCall(await sandboxOf(ctx), 'files.tree', { path, depth, limit: Number(q.get('limit')) || undefined }, ctx.request.signal);
	return json({ data: r.tree, truncated: r.truncated, count: r.count });
});

/** GET /files/download?path=[&format=tar][&filename=] — a file's bytes, or a tar of a directory. */
export const downloadRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const q = ctx.url.searchParams;
	if (q.get('raw') === '1' && !q.get('path')) return fileResponse(await sandboxOf(ctx), checkPath('/download', 'read'));
	const path = checkPath(q.get('path'), 'read');
	return download(ctx, await sandboxOf(ctx), [path], q.get('filename'), q.get('format') === 'tar');
});

async function download(ctx: ApiContext, row: Sandbox, paths: string[], filename: string | null, forceTar: boolean): Promise<Response> {
	if (paths.length === 1 && !forceTar) {
		const info = await stat(row, paths[0], ctx.request.signal);
		if (!info.is_dir) return fileResponse(row, paths[0], { download: filename || baseName(paths[0]), signal: ctx.request.signal });
		return tarResponse(row, paths, filename || `${baseName(paths[0])}.tar`, ctx.request.signal);
	}
	const name = filename || (paths.length === 1 ? `${baseName(paths[0])}.tar` : 'export.tar');
	return tarResponse(row, paths, name, ctx.request.signal);
}

/** GET /files/watch?path=&recursive= — SSE `{type: created|modified|deleted, path, size_bytes?, is_dir}`. */
export const watchRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const q = ctx.url.searchParams;
	const path = checkPath(q.get('path') || '/workspace', 'read');
	const row = await sandboxOf(ctx);
	const abort = new AbortController();
	const queue: FileWatchEvent[] = [];
	let sink: { send(d: unknown): void; comment(t: string): void; close(): void } | null = null;
	let ended: Error | null | undefined;
	const deliver = (e: FileWatchEvent) => {
		if (e.type === 'ready') sink!.comment('ready');
		else sink!.send(e);
	};
	const ch = await watch(row, path, {
		recursive: qbool(ctx, 'recursive', true),
		signal: abort.signal,
		onEvent: (e) => (sink ? deliver(e) : queue.push(e)),
		onEnd: (err) => {
			if (!sink) return void (ended = err ?? null);
			if (err) sink.send({ type: 'error', message: filesFailure(err).message });
			sink.close();
		}
	});
	return sseResponse((s) => {
		sink = s;
		for (const e of queue.splice(0)) deliver(e);
		if (ended !== undefined) {
			if (ended) s.send({ type: 'error', message: filesFailure(ended).message });
			s.close();
		}
		return () => {
			abort.abort();
			ch.destroy();
		};
	});
});

// ------------------------------------------------------------------------------------------
// Writes

const sdkWriteSchema = z.object({
	path: z.string(),
	content: z.string().optional(),
	content_base64: z.string().optional(),
	encoding: z.enum(['base64', 'utf8', 'utf-8', 'text', 'binary']).optional(),
	mode: modeSchema.optional()
});

function contentOf(input: z.infer<typeof sdkWriteSchema>, dflt: 'utf8' | 'base64'): Buffer {
	if (input.content_base64 !== undefined) return decodeContent(input.content_base64, 'base64', 'content_base64');
	if (input.content === undefined) throw new ApiError(400, 'MISSING_PARAM', 'content is required', { field: 'content' });
	const enc = input.encoding === undefined ? dflt : input.encoding === 'base64' || input.encoding === 'binary' ? 'base64' : 'utf8';
	return decodeContent(input.content, enc);
}

/** POST /files {path, content (base64)} — the SDK's write. */
export const sdkWriteRoute = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await body(ctx, sdkWriteSchema, WRITE_BODY);
	const path = checkPath(input.path, 'write');
	const data = contentOf(input, 'base64');
	const r = await writeBuffer(ctx, await sandboxOf(ctx), path, data, input.mode);
	return both(r);
});

/** POST /files/write {path, content, encoding?: utf8 (default) | base64, mode?}. */
export const writeRoute = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await body(ctx, sdkWriteSchema, WRITE_BODY);
	const path = checkPath(input.path, 'write');
	const data = contentOf(input, 'utf8');
	const r = await writeBuffer(ctx, await sandboxOf(ctx), path, data, input.mode);
	return both(r);
});

/** PUT /files/{path…}[?mode=0644] — the request body streamed into the file (≤ HANGAR_MAX_UPLOAD_BYTES). */
export function rawPut(fixed?: string): RequestHandler {
	return api({ scope: 'sandboxes:write', streamingBody: true }, async (ctx) => {
		const path = checkPath(fixed ?? '/' + (ctx.params.path ?? ''), 'write');
		const max = maxUploadBytes();
		const len = Number(ctx.request.headers.get('content-length'));
		if (Number.isFinite(len) && len > max) throw closing(tooLarge(max));
		const modeQ = ctx.url.searchParams.get('mode');
		const mode = modeQ ? parseValue(modeQ, modeSchema, 'invalid mode') : undefined;
		const row = await sandboxOf(ctx);
		const stream = ctx.request.body ?? untypedBody(ctx) ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
		let r;
		try {
			r = await writeStream(row, path, stream, { max, mode, signal: ctx.request.signal });
		} catch (e) {
			if (!(e instanceof ApiError)) throw new ApiError(400, 'VALIDATION_ERROR', 'the upload was interrupted', { fields: { _: ['the request body ended with an error'] } });
			throw e.code === 'FILE_TOO_LARGE' ? closing(e) : e;
		}
		await fileEvent(row, 'sandbox.file.written', { path: r.path, size_bytes: r.size_bytes });
		return both(r);
	});
}

/**
 * SvelteKit ignores a body sent without a Content-Type (`curl -T` sends none). With adapter-node
 * the Node request is still unread: stream it from there.
 */
function untypedBody(ctx: ApiContext): ReadableStream<Uint8Array> | null {
	const req = (ctx.event.platform as { req?: IncomingMessage } | undefined)?.req;
	if (!req || req.readableEnded || ctx.request.headers.get('content-type')) return null;
	const len = Number(req.headers['content-length'] ?? 0);
	if (!(len > 0) && !req.headers['transfer-encoding']) return null;
	return channelToWeb(req);
}

/** A 413 mid-upload: the rest of the body is not read, so close the connection after answering. */
function closing(e: ApiError): ApiError {
	return new ApiError(e.status, e.code, e.message, e.details, { ...(e.headers ?? {}), connection: 'close' });
}

/** A file name from a client: its last path component, usable as a name. */
function cleanName(name: string | null): string | null {
	if (!name) return null;
	const n = name.replace(/\\/g, '/').split('/').pop()!.replace(/\0/g, '');
	return n && n !== '.' && n !== '..' ? n : null;
}

/**
 * POST /files/upload — multipart: `file` (one or more), `path` (a file path, or a directory when
 * it ends with `/` or is one) or `dir`, optional `mode`; `?path=` works too. 201
 * `{success, file: {path, filename, size_bytes}, files: […]}`. Streamed: never held in memory.
 */
export const uploadRoute = api({ scope: 'sandboxes:write', streamingBody: true }, async (ctx) => {
	const boundary = boundaryOf(ctx.request.headers.get('content-type'));
	if (!boundary || !ctx.request.body) throw new ApiError(400, 'MISSING_FILE', 'send multipart/form-data with a `file` field');
	const max = maxUploadBytes() + 1024 * 1024;
	const len = Number(ctx.request.headers.get('content-length'));
	if (Number.isFinite(len) && len > max) throw closing(tooLarge(maxUploadBytes()));
	const row = await sandboxOf(ctx);
	const fields: Record<string, string> = {};
	for (const k of ['path', 'dir', 'mode']) {
		const v = ctx.url.searchParams.get(k);
		if (v) fields[k] = v;
	}
	const reader = new MultipartReader(ctx.request.body!, boundary, max);
	const written: { path: string; filename: string; size_bytes: number }[] = [];
	const staged: { tmp: string; filename: string }[] = [];
	try {
		for (let part = await reader.next(); part; part = await reader.next()) {
			if (part.filename === null) {
				if (['path', 'dir', 'mode', 'filename'].includes(part.name)) fields[part.name] = await part.text();
				continue;
			}
			const filename = cleanName(fields.filename ?? part.filename) ?? 'upload';
			const mode = fields.mode ? parseValue(fields.mode, modeSchema, 'invalid mode') : undefined;
			if (fields.path || fields.dir) {
				const target = await uploadTarget(row, fields, filename, ctx);
				const r = await writeStream(row, target, part.body(), { max: maxUploadBytes(), mode, signal: ctx.request.signal });
				written.push({ path: r.path, filename: baseName(r.path), size_bytes: r.size_bytes });
			} else {
				// No destination yet (the fields may come after the file): stage in /tmp, move at the end.
				const tmp = `/tmp/.hangar-upload-${crypto.randomUUID()}`;
				const r = await writeStream(row, tmp, part.body(), { max: maxUploadBytes(), mode, signal: ctx.request.signal });
				staged.push({ tmp, filename });
				written.push({ path: tmp, filename, size_bytes: r.size_bytes });
			}
		}
		for (const s of staged) {
			const target = await uploadTarget(row, fields, s.filename, ctx);
			await filesCall(row, 'files.move', { from: s.tmp, to: target, overwrite: true }, ctx.request.signal);
			const w = written.find((x) => x.path === s.tmp)!;
			w.path = target;
			w.filename = baseName(target);
		}
	} catch (e) {
		await reader.cancel();
		for (const s of staged) await filesCall(row, 'files.delete', { path: s.tmp }).catch(() => undefined);
		if (e instanceof MultipartTooLarge || (e instanceof ApiError && e.code === 'FILE_TOO_LARGE')) throw closing(tooLarge(maxUploadBytes()));
		if (e instanceof MultipartError) throw validationError(e.message, { _: [e.message] });
		if (!(e instanceof ApiError)) throw new ApiError(400, 'VALIDATION_ERROR', 'the upload was interrupted', { fields: { _: ['the request body ended with an error'] } });
		throw e;
	}
	if (!written.length) throw new ApiError(400, 'MISSING_FILE', 'the upload has no `file` field');
	for (const w of written) await fileEvent(row, 'sandbox.file.written', { path: w.path, size_bytes: w.size_bytes });
	return json({ success: true, file: written[0], files: written, data: written.length === 1 ? written[0] : written }, 201);
});

async function uploadTarget(row: Sandbox, fields: Record<string, string>, filename: string, ctx: ApiContext): Promise<string> {
	const raw = fields.path || fields.dir || '/workspace/';
	const asDir = !!fields.dir && !fields.path;
	const p = checkPath(raw, 'write');
	if (asDir || raw.endsWith('/')) return checkPath(joinPath(p, filename), 'write');
	// An existing directory gets the file inside it.
	const info = await stat(row, p, ctx.request.signal).catch(() => null);
	return info?.is_dir ? checkPath(joinPath(p, filename), 'write') : p;
}

const writeManySchema = z.object({
	files: z
		.array(
			z.object({
				path: z.string(),
				content_base64: z.string().optional(),
				content_b64: z.string().optional(),
				content: z.string().optional(),
				encoding: z.enum(['base64', 'utf8', 'utf-8']).optional()
			})
		)
		.min(1)
		.max(1000)
});

/**
 * POST /files/write-many {files: [{path, content_base64}]} — all or nothing. 200 `{written, failed: []}`;
 * when any file cannot be written nothing is, and the answer is the first failure's error with
 * `written: []` and every `failed: [{path, error, code}]`.
 */
export const writeManyRoute = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await body(ctx, writeManySchema, WRITE_BODY);
	const failed: { path: string; code: string; error: string }[] = [];
	const files: { path: string; content_b64: string }[] = [];
	let total = 0;
	const seen = new Set<string>();
	for (const f of input.files) {
		let path: string;
		try {
			path = normalizePath(f.path);
		} catch (e) {
			failed.push({ path: String(f.path), code: (e as ApiError).code, error: (e as ApiError).message });
			continue;
		}
		if (!allowedPath(path, 'write')) {
			const e = forbiddenPath(path, 'write');
			failed.push({ path, code: e.code, error: e.message });
			continue;
		}
		if (seen.has(path)) {
			failed.push({ path, code: 'VALIDATION_ERROR', error: 'the same path appears twice' });
			continue;
		}
		seen.add(path);
		const b64 = f.content_base64 ?? f.content_b64 ?? (f.encoding === 'utf8' || f.encoding === 'utf-8' ? undefined : f.content);
		let buf: Buffer;
		try {
			if (b64 !== undefined) buf = decodeContent(b64, 'base64', 'content_base64');
			else if (f.content !== undefined) buf = decodeContent(f.content, 'utf8');
			else throw new ApiError(400, 'MISSING_PARAM', 'content_base64 is required', { field: 'content_base64' });
		} catch (e) {
			failed.push({ path, code: (e as ApiError).code, error: (e as ApiError).message });
			continue;
		}
		total += buf.length;
		files.push({ path, content_b64: buf.toString('base64') });
	}
	if (total > MAX_JSON_WRITE_BYTES) throw tooLarge(MAX_JSON_WRITE_BYTES, 'the files together');
	if (failed.length) return writeManyFailure(ctx, failed);
	const row = await sandboxOf(ctx);
	const r = await filesCall(row, 'files.write_many', { files }, ctx.request.signal);
	if (r.failed.length && !r.written.length) {
		return writeManyFailure(
			ctx,
			r.failed.map((f) => ({ ...f, code: filesFailure(new RemoteError({ code: f.code, message: f.error })).code }))
		);
	}
	for (const w of r.written.slice(0, 100)) await fileEvent(row, 'sandbox.file.written', { path: w.path, size_bytes: w.size_bytes });
	return both({ written: r.written, failed: r.failed });
});

function writeManyFailure(ctx: ApiContext, failed: { path: string; code: string; error: string }[]): Response {
	const first = failed[0];
	const status = first.code === 'FORBIDDEN_PATH' ? 403 : first.code === 'NOT_FOUND' ? 404 : first.code === 'FILE_TOO_LARGE' ? 413 : first.code === 'MISSING_PARAM' ? 400 : first.code === 'CONFLICT' ? 409 : 422;
	const code = ['FORBIDDEN_PATH', 'NOT_FOUND', 'FILE_TOO_LARGE', 'MISSING_PARAM', 'CONFLICT', 'VALIDATION_ERROR'].includes(first.code) ? first.code : 'VALIDATION_ERROR';
	const result = { written: [], failed };
	return json(
		{
			error: { code, message: `nothing was written: ${first.path}: ${first.error}`, request_id: ctx.requestId, details: result },
			request_id: ctx.requestId,
			...result
		},
		status,
		{ 'x-request-id': ctx.requestId }
	);
}

// ------------------------------------------------------------------------------------------
// Changes

const mkdirSchema = z.object({ path: z.string(), parents: flag.optional(), recursive: flag.optional(), mode: modeSchema.optional() });

/** POST /files/mkdir {path, parents|recursive? (default true), mode?} — 201 when created. */
export const mkdirRoute = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await body(ctx, mkdirSchema);
	const path = checkPath(input.path, 'write');
	const row = await sandboxOf(ctx);
	const r = await filesCall(row, 'files.mkdir', { path, parents: input.parents ?? input.recursive ?? true, mode: input.mode }, ctx.request.signal);
	if (r.created) await fileEvent(row, 'sandbox.file.dir_created', { path });
	return both(r, r.created ? 201 : 200);
});

const fromTo = z.object({
	from: z.string().optional(),
	source: z.string().optional(),
	src: z.string().optional(),
	old_path: z.string().optional(),
	to: z.string().optional(),
	destination: z.string().optional(),
	dest: z.string().optional(),
	new_path: z.string().optional(),
	overwrite: flag.optional(),
	recursive: flag.optional()
});
function endsOf(input: z.infer<typeof fromTo>) {
	const from = input.from ?? input.source ?? input.src ?? input.old_path;
	const to = input.to ?? input.destination ?? input.dest ?? input.new_path;
	if (from === undefined) throw new ApiError(400, 'MISSING_PARAM', 'from (or source) is required', { field: 'from' });
	if (to === undefined) throw new ApiError(400, 'MISSING_PARAM', 'to (or destination) is required', { field: 'to' });
	return { from, to };
}

/** POST /files/move (and /files/rename) {from|source, to|destination, overwrite? (default false)}. */
export const moveRoute = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await body(ctx, fromTo);
	const e = endsOf(input);
	const from = checkPath(e.from, 'write', 'from');
	const to = checkPath(e.to, 'write', 'to');
	const row = await sandboxOf(ctx);
	const r = await filesCall(row, 'files.move', { from, to, overwrite: input.overwrite ?? false }, ctx.request.signal);
	await fileEvent(row, 'sandbox.file.moved', { from, to });
	return both(r);
});

/** POST /files/copy {from|source, to|destination, overwrite? (false), recursive? (false; needed for directories)}. */
export const copyRoute = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await body(ctx, fromTo);
	const e = endsOf(input);
	const from = checkPath(e.from, 'read', 'from');
	const to = checkPath(e.to, 'write', 'to');
	const row = await sandboxOf(ctx);
	const r = await filesCall(row, 'files.copy', { from, to, overwrite: input.overwrite ?? false, recursive: input.recursive ?? false }, ctx.request.signal);
	await fileEvent(row, 'sandbox.file.copied', { from, to });
	return both(r);
});

const chmodSchema = z.object({ path: z.string(), mode: modeSchema });

/** POST /files/chmod {path, mode} — mode as a number (0o755 = 493) or octal text ("755"). */
export const chmodRoute = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await body(ctx, chmodSchema);
	const path = checkPath(input.path, 'write');
	const row = await sandboxOf(ctx);
	const info = await filesCall(row, 'files.chmod', { path, mode: input.mode }, ctx.request.signal);
	await fileEvent(row, 'sandbox.file.mode_changed', { path, mode: info.permissions });
	return json({ data: info });
});

const deleteSchema = z.object({ path: z.string().optional(), recursive: flag.optional() });

/** DELETE /files?path=&recursive= (or a JSON body {path, recursive}); recursive defaults to false. */
export function deleteRoute(fromParams = false): RequestHandler {
	return api({ scope: 'sandboxes:write' }, async (ctx) => {
		let raw: string | null | undefined = fromParams ? '/' + (ctx.params.path ?? '') : ctx.url.searchParams.get('path');
		let recursive = qbool(ctx, 'recursive', false);
		if (!fromParams && !raw) {
			const b = await body(ctx, deleteSchema);
			raw = b.path;
			recursive = b.recursive ?? recursive;
		}
		const path = checkPath(raw, 'write');
		const row = await sandboxOf(ctx);
		const r = await filesCall(row, 'files.delete', { path, recursive }, ctx.request.signal);
		await fileEvent(row, 'sandbox.file.deleted', { path, recursive });
		return both(r);
	});
}

// ------------------------------------------------------------------------------------------
// Exports

const exportSchema = z.object({
	path: z.string().optional(),
	paths: z.array(z.string()).max(100).optional(),
	label: z.string().max(200).optional(),
	filename: z.string().max(255).optional()
});

function exportPaths(one: string | null | undefined, many: string[] | null | undefined): string[] {
	const list = [...(one ? [one] : []), ...(many ?? [])];
	if (!list.length) throw new ApiError(400, 'MISSING_PARAM', 'path or paths is required', { field: 'path' });
	return [...new Set(list.map((p) => checkPath(p, 'read')))];
}

const origin = (ctx: ApiContext) => (env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/$/, '') : ctx.url.origin);

/**
 * POST /sandboxes/{id}/exports {path | paths[], label?, filename?} — 201 `{id, sandbox_id, label,
 * status: 'ready', files: [{path, filename, size_bytes, is_dir, download_url}], archive_download_url,
 * created_at}` (also under data). Exports are links: the bytes are read when downloaded.
 */
export const createExportRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const input = await body(ctx, exportSchema);
	const paths = exportPaths(input.path, input.paths);
	const row = await sandboxOf(ctx);
	const base = `${origin(ctx)}/api/v1/sandboxes/${row.id}/exports/download`;
	const files = [];
	for (const p of paths) {
		const info = await stat(row, p, ctx.request.signal);
		const filename = info.is_dir ? `${baseName(p)}.tar` : baseName(p);
		files.push({ path: p, filename, size_bytes: info.is_dir ? null : info.size, is_dir: info.is_dir, download_url: `${base}?${new URLSearchParams({ path: p, filename })}` });
	}
	const archiveName = cleanName(input.filename ?? null) ?? (paths.length === 1 ? `${baseName(paths[0])}.tar` : 'export.tar');
	const qs = new URLSearchParams();
	for (const p of paths) qs.append('paths[]', p);
	qs.set('filename', archiveName);
	qs.set('format', 'tar');
	const exp = {
		id: crypto.randomUUID(),
		sandbox_id: row.id,
		label: input.label ?? null,
		status: 'ready',
		files,
		archive_download_url: `${base}?${qs}`,
		created_at: new Date().toISOString()
	};
	await fileEvent(row, 'sandbox.file.exported', { export_id: exp.id, paths });
	return both(exp, 201);
});

/** GET /sandboxes/{id}/exports/download?path= | paths[]= [&filename=][&format=tar] — bytes (a tar for directories and several paths). */
export const exportDownloadRoute = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const q = ctx.url.searchParams;
	const paths = exportPaths(q.get('path'), [...q.getAll('paths[]'), ...q.getAll('paths')]);
	const filename = cleanName(q.get('filename'));
	return download(ctx, await sandboxOf(ctx), paths, filename, q.get('format') === 'tar');
});

