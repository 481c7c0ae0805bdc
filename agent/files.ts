/**
 * Files: `files.*` methods and the 'file-read', 'file-write', 'file-tar' and 'file-watch'
 * channels. Everything runs inside the sandbox through spawnInSandbox (its mount namespace and
 * root, uid 1000) as one invocation of `files.sh` per operation, so paths and symlinks resolve in
 * the sandbox and the sandbox user's permissions apply. The agent resolves symlinks there and
 * checks the resolved path against the request's policy (see the Files section of the protocol).
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
	DEFAULT_FILE_POLICY,
	type ChannelKinds,
	type ErrorCode,
	type FileInfo,
	type FilePolicy,
	type FileTreeNode,
	type FileWatchEvent,
	type FileWriteManyResult,
	type FileWriteResult,
	type Methods,
	type ParamsOf,
	type ResultOf
} from '../src/lib/protocol/index';
import { toWireError, type Channel, type HandlerContext } from '../src/lib/protocol/peer';
import { AgentFault, fault } from './errors';
import { killGroup } from './exec';
import { spawnInSandbox, type SandboxChild } from './sandboxes';
import SCRIPT from './files.sh?raw';

const OP_TIMEOUT_MS = 120_000;
const HEADER_TIMEOUT_MS = 60_000;
/** list/tree stop reading the listing past this much output (and say truncated). */
const LISTING_CAP = 32 * 1024 * 1024;
const DEFAULT_LIMIT = 10_000;
const MAX_LIMIT = 100_000;
const MAX_WATCH_ENTRIES = 100_000;
const WRITE_MANY_MAX_FILES = 1000;
const WRITE_MANY_MAX_BYTES = 256 * 1024 * 1024;

const TYPE_BITS: Record<string, number> = { f: 0o100000, d: 0o040000, l: 0o120000, p: 0o010000, s: 0o140000, c: 0o020000, b: 0o060000 };

// ------------------------------------------------------------------------------------------
// Validation

/** Paths arrive absolute and normalized (no `.`/`..`/empty segments, no trailing slash). */
export function validPath(p: unknown, what = 'path'): string {
	if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0') || p.length > 4096)
		throw fault('INVALID_PARAMS', `${what} must be an absolute path`);
	if (p !== '/') {
		for (const seg of p.slice(1).split('/')) {
			if (seg === '' || seg === '.' || seg === '..') throw fault('INVALID_PARAMS', `${what} must be normalized: ${p}`);
			if (Buffer.byteLength(seg) > 255) throw fault('INVALID_PARAMS', `a name in ${what} is longer than 255 bytes`);
		}
	}
	return p;
}

function validMode(m: unknown): string {
	if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 0o7777) throw fault('INVALID_PARAMS', 'mode must be an integer 0…0o7777');
	return m.toString(8);
}

function sandboxIdOf(p: { sandbox_id?: unknown }): string {
	if (typeof p.sandbox_id !== 'string' || !p.sandbox_id) throw fault('INVALID_PARAMS', 'sandbox_id is required');
	return p.sandbox_id;
}

function policyEnv(policy: FilePolicy | undefined): Record<string, string> {
	const p = policy ?? DEFAULT_FILE_POLICY;
	const list = (v: unknown, what: string): string => {
		if (!Array.isArray(v)) throw fault('INVALID_PARAMS', `policy.${what} must be a list of paths`);
		for (const r of v) if (typeof r !== 'string' || !r.startsWith('/') || r.includes(':') || r.includes('\0')) throw fault('INVALID_PARAMS', `bad policy root ${String(r)}`);
		return (v as string[]).join(':');
	};
	return {
		HF_RA: list(p.read?.allow, 'read.allow'),
		HF_RD: list(p.read?.deny, 'read.deny'),
		HF_WA: list(p.write?.allow, 'write.allow'),
		HF_WD: list(p.write?.deny, 'write.deny')
	};
}

// ------------------------------------------------------------------------------------------
// Running files.sh

interface Script {
	child: SandboxChild;
	stderr: () => string;
	/** Exit code (128+n for a signal). */
	closed: Promise<number>;
	kill(): void;
}

function startScript(sandboxId: string, args: string[], policy: FilePolicy | undefined): Script {
	const env = { ...policyEnv(policy), LC_ALL: 'C', PATH: '/usr/bin:/bin', ENV: '', BASH_ENV: '', CDPATH: '' };
	const child = spawnInSandbox(sandboxId, ['/bin/sh', '-c', SCRIPT, 'hangar-files', ...args], { cwd: '/', env });
	let err = '';
	child.stderr!.setEncoding('utf8');
	child.stderr!.on('data', (c: string) => {
		if (err.length < 64 * 1024) err += c;
	});
	child.stdin!.on('error', () => undefined);
	const closed = new Promise<number>((resolve) => {
		child.once('error', () => resolve(125));
		child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 125)));
	});
	let killed = false;
	return {
		child,
		stderr: () => err,
		closed,
		kill() {
			if (killed) return;
			killed = true;
			child.sandboxPid.then(({ hostPid }) => killGroup(hostPid), () => undefined);
			try {
				child.kill('SIGKILL');
			} catch {
				/* gone */
			}
		}
	};
}

const CLASSES: [RegExp, ErrorCode][] = [
	[/No such file or directory|Directory nonexistent|can't cd/i, 'NOT_FOUND'],
	[/Permission denied|Operation not permitted|Read-only file system/i, 'FORBIDDEN_PATH'],
	[/Not a directory/i, 'NOT_A_DIRECTORY'],
	[/Is a directory|cannot overwrite directory/i, 'IS_A_DIRECTORY'],
	[/File exists/i, 'ALREADY_EXISTS'],
	[/Directory not empty/i, 'NOT_EMPTY'],
	[/No space left on device|Disk quota exceeded/i, 'NO_SPACE'],
	[/File name too long|Too many levels of symbolic links|Invalid argument|subdirectory of itself|are the same file/i, 'INVALID_PARAMS']
];

/** Turns files.sh's stderr (and exit code) into a coded fault. */
export function scriptError(code: number, stderr: string): AgentFault {
	if (code === 125 || code === 126 || code === 127) {
		const msg = stderr.trim().split('\n').pop() ?? '';
		return fault('INTERNAL', `could not run in the sandbox (${code}): ${msg}`.trim());
	}
	const m = /\nHANGAR_ERR (\S+) ([\s\S]*)$/.exec(stderr);
	if (m && m[1] !== 'AUTO') return fault(m[1] as ErrorCode, m[2].replace(/\n$/, ''));
	const text = m ? stderr.slice(0, m.index) : stderr;
	const line =
		text
			.split('\n')
			.map((l) => l.trim())
			.filter(Boolean)
			.pop() ?? '';
	for (const [re, c] of CLASSES) if (re.test(line)) return fault(c, line);
	return fault('INTERNAL', line || (m ? m[2].trim() : '') || `file operation failed (exit ${code})`);
}

/** Runs one operation to completion and returns its stdout. */
async function runOp(
	sandboxId: string,
	args: string[],
	policy: FilePolicy | undefined,
	opts: { stdin?: Buffer[]; signal?: AbortSignal; cap?: number; okCodes?: number[] } = {}
): Promise<{ out: Buffer; truncated: boolean; code: number; stderr: string }> {
	const s = startScript(sandboxId, args, policy);
	const chunks: Buffer[] = [];
	let size = 0;
	let truncated = false;
	let why: AgentFault | null = null;
	s.child.stdout!.on('data', (c: Buffer) => {
		if (truncated) return;
		if (opts.cap && size + c.length > opts.cap) {
			truncated = true;
			chunks.push(c.subarray(0, opts.cap - size));
			s.kill();
			return;
		}
		size += c.length;
		chunks.push(c);
	});
	const timer = setTimeout(() => {
		why = fault('TIMEOUT', `file operation took longer than ${OP_TIMEOUT_MS / 1000} s`);
		s.kill();
	}, OP_TIMEOUT_MS);
	const onAbort = () => {
		why = fault('CANCELLED', 'cancelled');
		s.kill();
	};
	opts.signal?.addEventListener('abort', onAbort, { once: true });
	const stdin = s.child.stdin!;
	if (opts.stdin?.length) {
		void (async () => {
			for (const b of opts.stdin!) {
				if (!b.length) continue;
				if (!stdin.write(b))
					await new Promise<void>((r) => {
						const go = () => {
							stdin.off('drain', go);
							stdin.off('close', go);
							r();
						};
						stdin.on('drain', go);
						stdin.on('close', go);
					});
				if (stdin.destroyed) return;
			}
			stdin.end();
		})();
	} else stdin.end();
	const code = await s.closed;
	clearTimeout(timer);
	opts.signal?.removeEventListener('abort', onAbort);
	if (why) throw why;
	const out = Buffer.concat(chunks);
	if (truncated) return { out, truncated, code, stderr: s.stderr() };
	if (code !== 0 && !(opts.okCodes ?? []).includes(code)) throw scriptError(code, s.stderr());
	return { out, truncated, code, stderr: s.stderr() };
}

/** Splits NUL-terminated fields (a trailing partial field is dropped). */
function fields(buf: Buffer): string[] {
	const out: string[] = [];
	let start = 0;
	for (;;) {
		const i = buf.indexOf(0, start);
		if (i < 0) break;
		out.push(buf.toString('utf8', start, i));
		start = i + 1;
	}
	return out;
}

/** Reads `n` NUL-terminated header fields from stdout; on early exit, throws the script's error. */
async function header(s: Script, n: number): Promise<string[]> {
	const stdout = s.child.stdout as Readable;
	const got = await new Promise<string[] | null>((resolve) => {
		let buf = Buffer.alloc(0);
		const done = (v: string[] | null) => {
			clearTimeout(timer);
			stdout.off('readable', onReadable);
			stdout.off('end', onEnd);
			resolve(v);
		};
		const onReadable = () => {
			let c: Buffer | null;
			while ((c = stdout.read() as Buffer | null) !== null) {
				buf = Buffer.concat([buf, c]);
				const out: string[] = [];
				let start = 0;
				while (out.length < n) {
					const i = buf.indexOf(0, start);
					if (i < 0) break;
					out.push(buf.toString('utf8', start, i));
					start = i + 1;
				}
				if (out.length === n) {
					if (start < buf.length) stdout.unshift(buf.subarray(start));
					return done(out);
				}
				if (buf.length > 64 * 1024) return done(null);
			}
		};
		const onEnd = () => done(null);
		const timer = setTimeout(() => done(null), HEADER_TIMEOUT_MS);
		stdout.on('readable', onReadable);
		stdout.on('end', onEnd);
	});
	if (got) return got;
	s.kill();
	const code = await s.closed;
	throw code === 0 ? fault('INTERNAL', 'file operation ended early') : scriptError(code, s.stderr());
}

// ------------------------------------------------------------------------------------------
// Listings

const joinPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
const baseName = (p: string) => (p === '/' ? '/' : p.slice(p.lastIndexOf('/') + 1));

/** From the six fields `%y %Y %s %m %T@ %l`. */
function toInfo(f: string[], name: string, path: string): FileInfo {
	const [y, Y, s, m, t, l] = f;
	const perm = parseInt(m, 8) || 0;
	const isDir = y === 'd' || (y === 'l' && Y === 'd');
	const info: FileInfo = {
		name,
		path,
		type: isDir ? 'dir' : 'file',
		size: Number(s) || 0,
		is_dir: isDir,
		is_symlink: y === 'l',
		mode: (TYPE_BITS[y] ?? 0) | perm,
		permissions: '0' + perm.toString(8).padStart(3, '0'),
		modified_at: new Date(Math.round(parseFloat(t) * 1000) || 0).toISOString()
	};
	if (y === 'l') info.symlink_target = l;
	return info;
}

const byDirThenName = (a: FileInfo, b: FileInfo) => (a.is_dir !== b.is_dir ? (a.is_dir ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function limitOf(v: unknown): number {
	const n = Number(v);
	return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_LIMIT) : DEFAULT_LIMIT;
}

export async function list(p: ParamsOf<'files.list'>, ctx?: HandlerContext): Promise<ResultOf<'files.list'>> {
	const id = sandboxIdOf(p);
	const path = validPath(p.path);
	const limit = limitOf(p.limit);
	const r = await runOp(id, ['list', path], p.policy, { signal: ctx?.signal, cap: LISTING_CAP });
	const f = fields(r.out);
	const entries: FileInfo[] = [];
	for (let i = 0; i + 7 <= f.length; i += 7) entries.push(toInfo(f.slice(i, i + 6), f[i + 6], joinPath(path, f[i + 6])));
	entries.sort(byDirThenName);
	const truncated = r.truncated || entries.length > limit;
	return { path, entries: entries.slice(0, limit), truncated };
}

export async function stat(p: ParamsOf<'files.stat'>, ctx?: HandlerContext): Promise<FileInfo> {
	const path = validPath(p.path);
	const r = await runOp(sandboxIdOf(p), ['stat', path], p.policy, { signal: ctx?.signal });
	const f = fields(r.out);
	if (f.length < 6) throw fault('INTERNAL', 'stat gave no answer');
	return toInfo(f, baseName(path), path);
}

export async function tree(p: ParamsOf<'files.tree'>, ctx?: HandlerContext): Promise<ResultOf<'files.tree'>> {
	const path = validPath(p.path);
	const depth = Math.max(0, Math.min(20, Number.isInteger(p.depth) ? (p.depth as number) : 3));
	const limit = limitOf(p.limit);
	const r = await runOp(sandboxIdOf(p), ['tree', path, String(depth)], p.policy, { signal: ctx?.signal, cap: LISTING_CAP });
	const f = fields(r.out);
	if (f.length < 7) throw fault('INTERNAL', 'tree gave no answer');
	const root: FileTreeNode = toInfo(f.slice(0, 6), baseName(path), path);
	const nodes = new Map<string, FileTreeNode>([['', root]]);
	if (root.is_dir && depth > 0) root.children = [];
	let count = 0;
	let truncated = r.truncated;
	for (let i = 7; i + 7 <= f.length; i += 7) {
		if (count >= limit) {
			truncated = true;
			break;
		}
		const rel = f[i + 6];
		const cut = rel.lastIndexOf('/');
		const parent = nodes.get(cut < 0 ? '' : rel.slice(0, cut));
		if (!parent) continue;
		const node: FileTreeNode = toInfo(f.slice(i, i + 6), rel.slice(cut + 1), joinPath(path, rel));
		if (f[i] === 'd' && rel.split('/').length < depth) node.children = [];
		(parent.children ??= []).push(node);
		nodes.set(rel, node);
		count++;
	}
	for (const n of nodes.values()) n.children?.sort(byDirThenName);
	return { tree: root, count, truncated };
}

// ------------------------------------------------------------------------------------------
// Changes

export async function mkdir(p: ParamsOf<'files.mkdir'>, ctx?: HandlerContext): Promise<ResultOf<'files.mkdir'>> {
	const path = validPath(p.path);
	const mode = validMode(p.mode ?? 0o755);
	const r = await runOp(sandboxIdOf(p), ['mkdir', path, p.parents === false ? '0' : '1', mode], p.policy, { signal: ctx?.signal });
	return { path, created: fields(r.out)[0] !== 'EXISTS' };
}

export async function move(p: ParamsOf<'files.move'>, ctx?: HandlerContext): Promise<ResultOf<'files.move'>> {
	const from = validPath(p.from, 'from');
	const to = validPath(p.to, 'to');
	await runOp(sandboxIdOf(p), ['move', from, to, p.overwrite ? '1' : '0'], p.policy, { signal: ctx?.signal });
	return { from, to };
}

export async function copy(p: ParamsOf<'files.copy'>, ctx?: HandlerContext): Promise<ResultOf<'files.copy'>> {
	const from = validPath(p.from, 'from');
	const to = validPath(p.to, 'to');
	const token = randomBytes(8).toString('hex');
	await runOp(sandboxIdOf(p), ['copy', from, to, p.overwrite ? '1' : '0', p.recursive ? '1' : '0', token], p.policy, { signal: ctx?.signal });
	return { from, to };
}

export async function chmod(p: ParamsOf<'files.chmod'>, ctx?: HandlerContext): Promise<FileInfo> {
	const path = validPath(p.path);
	const r = await runOp(sandboxIdOf(p), ['chmod', path, validMode(p.mode)], p.policy, { signal: ctx?.signal });
	const f = fields(r.out);
	if (f.length < 6) throw fault('INTERNAL', 'chmod gave no answer');
	return toInfo(f, baseName(path), path);
}

export async function remove(p: ParamsOf<'files.delete'>, ctx?: HandlerContext): Promise<ResultOf<'files.delete'>> {
	const path = validPath(p.path);
	await runOp(sandboxIdOf(p), ['delete', path, p.recursive ? '1' : '0'], p.policy, { signal: ctx?.signal });
	return { path, deleted: true };
}

const B64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * All or nothing: every target is resolved and checked, then staged in a temp file beside it,
 * and only when all are staged are they renamed into place (a failure removes the temps).
 */
export async function writeMany(p: ParamsOf<'files.write_many'>, ctx?: HandlerContext): Promise<FileWriteManyResult> {
	const id = sandboxIdOf(p);
	if (!Array.isArray(p.files) || p.files.length === 0) throw fault('INVALID_PARAMS', 'files must be a non-empty list');
	if (p.files.length > WRITE_MANY_MAX_FILES) throw fault('INVALID_PARAMS', `at most ${WRITE_MANY_MAX_FILES} files`);
	const seen = new Set<string>();
	const bufs: Buffer[] = [];
	let total = 0;
	for (const f of p.files) {
		const path = validPath(f?.path);
		if (seen.has(path)) throw fault('INVALID_PARAMS', `${path} appears twice`);
		seen.add(path);
		const b64 = typeof f.content_b64 === 'string' ? f.content_b64.replace(/\s+/g, '') : '';
		if (typeof f.content_b64 !== 'string' || !B64.test(b64)) throw fault('INVALID_PARAMS', `content_b64 of ${path} is not base64`);
		const buf = Buffer.from(b64, 'base64');
		total += buf.length;
		if (total > WRITE_MANY_MAX_BYTES) throw fault('FILE_TOO_LARGE', 'the files are too large for one write_many');
		bufs.push(buf);
	}
	const token = randomBytes(8).toString('hex');
	const args = ['wmany', token, ...p.files.flatMap((f, i) => [f.path, String(bufs[i].length)])];
	const r = await runOp(id, args, p.policy, { stdin: bufs, signal: ctx?.signal, okCodes: [98] });
	const f = fields(r.out);
	const written: FileWriteManyResult['written'] = [];
	const failed: FileWriteManyResult['failed'] = [];
	for (let i = 0; i < f.length; ) {
		const n = Number(f[i + 1]) - 1;
		const file = p.files[n];
		if (f[i] === 'W') {
			if (file) written.push({ path: file.path, size_bytes: bufs[n].length });
			i += 2;
		} else if (f[i] === 'F') {
			const e = scriptError(1, '\n' + (f[i + 2] ?? ''));
			if (file) failed.push({ path: file.path, code: e.code, error: e.message || 'write failed' });
			i += 3;
		} else break;
	}
	if (r.code === 98 && failed.length === 0) failed.push({ path: p.files[0].path, code: 'INTERNAL', error: 'write_many failed' });
	return { written: r.code === 98 ? [] : written, failed };
}

// ------------------------------------------------------------------------------------------
// Channels

/** Pipes the script's stdout into the channel; ends it on a good exit, else fails it with the error. */
function pipeToChannel(s: Script, ch: Channel, okCodes: number[]): void {
	let chGone = false;
	ch.on('error', () => undefined);
	ch.on('close', () => {
		chGone = true;
		s.kill();
	});
	// Bytes the other side sends are not expected; drain them so credit flows.
	ch.on('data', () => undefined);
	s.child.stdout!.pipe(ch, { end: false });
	void s.closed.then((code) => {
		if (chGone) return;
		if (okCodes.includes(code)) ch.end();
		else ch.destroy(scriptError(code, s.stderr()));
	});
}

export async function readChannel(p: ChannelKinds['file-read'], ch: Channel): Promise<void> {
	const path = validPath(p.path);
	const s = startScript(sandboxIdOf(p), ['read', path], p.policy);
	const [, size] = await header(s, 2);
	ch.write(JSON.stringify({ size: Number(size) }) + '\n');
	pipeToChannel(s, ch, [0]);
}

export async function tarChannel(p: ChannelKinds['file-tar'], ch: Channel): Promise<void> {
	if (!Array.isArray(p.paths) || p.paths.length === 0) throw fault('INVALID_PARAMS', 'paths must be a non-empty list');
	if (p.paths.length > 1000) throw fault('INVALID_PARAMS', 'at most 1000 paths');
	const paths = p.paths.map((x) => validPath(x));
	const s = startScript(sandboxIdOf(p), ['tar', ...paths], p.policy);
	await header(s, 1);
	// GNU tar exits 1 when a file changed while it was read: the archive is still whole.
	pipeToChannel(s, ch, [0, 1]);
}

/**
 * Bytes from the channel go to a temp file beside the target; EOF renames it into place and the
 * agent answers one JSON line (FileWriteResult). Closing the channel first removes the temp.
 */
export async function writeChannel(p: ChannelKinds['file-write'], ch: Channel): Promise<void> {
	const id = sandboxIdOf(p);
	const path = validPath(p.path);
	const mode = p.mode === undefined || p.mode === null ? '' : validMode(p.mode);
	const max = Number(p.max_bytes) > 0 ? Number(p.max_bytes) : Infinity;
	const s = startScript(id, ['write', path, mode, randomBytes(8).toString('hex')], p.policy);
	const [, tmp] = await header(s, 2);
	const stdin = s.child.stdin!;
	let bytes = 0;
	let state: 'streaming' | 'committing' | 'done' | 'aborted' = 'streaming';
	const abort = (err?: AgentFault) => {
		if (state === 'done' || state === 'aborted') return;
		state = 'aborted';
		s.kill();
		void s.closed.then(() => runOp(id, ['cleanup', tmp], p.policy).catch(() => undefined));
		if (err && !ch.destroyed) ch.destroy(err);
	};
	ch.on('error', () => abort());
	ch.on('close', () => abort());
	ch.on('data', (c: Buffer) => {
		if (state !== 'streaming') return;
		bytes += c.length;
		if (bytes > max) return abort(fault('FILE_TOO_LARGE', `the file is larger than ${max} bytes`));
		if (!stdin.write(c)) ch.pause();
	});
	stdin.on('drain', () => ch.resume());
	ch.on('end', () => {
		if (state !== 'streaming') return;
		// A close without EOF (the remote went away) also ends the readable side: never commit then.
		if (ch.writableEnded) return abort();
		state = 'committing';
		stdin.end();
	});
	void s.closed.then((code) => {
		if (state === 'aborted') return;
		if (state === 'streaming') {
			// The script died while bytes were still coming (disk full, killed…).
			state = 'aborted';
			void runOp(id, ['cleanup', tmp], p.policy).catch(() => undefined);
			if (!ch.destroyed) ch.destroy(scriptError(code || 1, s.stderr()));
			return;
		}
		state = 'done';
		const result: FileWriteResult =
			code === 0 ? { ok: true, path, size_bytes: bytes } : { ok: false, error: toWireError(scriptError(code, s.stderr())) };
		if (!ch.destroyed) ch.end(JSON.stringify(result) + '\n');
	});
}

interface Seen {
	t: string;
	s: number;
	m: string;
}

/** Polls a snapshot (`find -printf`) every interval inside the sandbox and sends the differences. */
export async function watchChannel(p: ChannelKinds['file-watch'], ch: Channel): Promise<void> {
	const path = validPath(p.path);
	const interval = Math.max(50, Math.min(5000, Number(p.interval_ms) || 200));
	const s = startScript(sandboxIdOf(p), ['watch', path, p.recursive === false ? '0' : '1', (interval / 1000).toFixed(3)], p.policy);
	await header(s, 1);
	const stdout = s.child.stdout as Readable;
	let gone = false;
	ch.on('error', () => undefined);
	ch.on('data', () => undefined);
	ch.on('close', () => {
		gone = true;
		s.kill();
	});
	const send = (e: FileWatchEvent) => {
		if (gone || ch.destroyed) return;
		if (!ch.write(JSON.stringify(e) + '\n')) {
			stdout.pause();
			ch.once('drain', () => stdout.resume());
		}
	};
	let prev: Map<string, Seen> | null = null;
	let cur = new Map<string, Seen>();
	let rec: string[] = [];
	let pending: Buffer = Buffer.alloc(0);
	const snapshotDone = () => {
		const before = prev;
		prev = cur;
		cur = new Map();
		if (!before) return send({ type: 'ready' });
		const created: string[] = [];
		const modified: string[] = [];
		const deleted: string[] = [];
		for (const [k, v] of prev) {
			const o = before.get(k);
			if (!o) created.push(k);
			else if (o.t !== v.t) (deleted.push(k), created.push(k));
			else if (v.t !== 'd' && (o.s !== v.s || o.m !== v.m)) modified.push(k);
		}
		for (const k of before.keys()) if (!prev.has(k)) deleted.push(k);
		created.sort();
		modified.sort();
		deleted.sort().reverse();
		const ev = (type: 'created' | 'modified' | 'deleted', k: string, e: Seen) => {
			const isDir = e.t === 'd';
			send(isDir ? { type, path: joinPath(path, k), is_dir: true } : { type, path: joinPath(path, k), is_dir: false, size_bytes: e.s });
		};
		const recreated = new Set(created.filter((k) => before.has(k)));
		for (const k of deleted) if (recreated.has(k)) ev('deleted', k, before.get(k)!);
		for (const k of created) ev('created', k, prev.get(k)!);
		for (const k of modified) ev('modified', k, prev.get(k)!);
		for (const k of deleted) if (!prev.has(k)) ev('deleted', k, before.get(k)!);
	};
	stdout.on('data', (c: Buffer) => {
		pending = pending.length ? Buffer.concat([pending, c]) : c;
		let start = 0;
		for (;;) {
			const i = pending.indexOf(0, start);
			if (i < 0) break;
			rec.push(pending.toString('utf8', start, i));
			start = i + 1;
			if (rec.length === 4) {
				const [t, size, m, rel] = rec;
				rec = [];
				if (t === 'END') snapshotDone();
				// Our own staging files of atomic writes are not the user's changes.
				else if (/(^|\/)\.hangar-tmp-[^/]*$/.test(rel)) continue;
				else if (cur.size < MAX_WATCH_ENTRIES) cur.set(rel, { t, s: Number(size) || 0, m });
				else if (!gone) {
					gone = true;
					s.kill();
					ch.destroy(fault('INVALID_PARAMS', `more than ${MAX_WATCH_ENTRIES} files under ${path}: watch a smaller directory`));
					return;
				}
			}
		}
		pending = pending.subarray(start);
	});
	stdout.resume();
	void s.closed.then((code) => {
		if (gone || ch.destroyed) return;
		ch.destroy(code === 0 ? fault('INTERNAL', 'the watcher stopped') : scriptError(code, s.stderr()));
	});
}

// ------------------------------------------------------------------------------------------
// Registration

type Handle = <M extends keyof Methods>(method: M, h: (params: ParamsOf<M>, ctx: HandlerContext) => Promise<ResultOf<M>> | ResultOf<M>) => void;
type HandleChannel = <K extends keyof ChannelKinds>(kind: K, h: (params: ChannelKinds[K], ch: Channel) => Promise<void> | void) => void;

/** Registers the files methods and channel kinds on an agent (called from main.ts). */
export function registerFiles(agent: { handle: Handle; handleChannel: HandleChannel }): void {
	const { handle, handleChannel } = agent;
	handle('files.list', list);
	handle('files.stat', stat);
	handle('files.tree', tree);
	handle('files.mkdir', mkdir);
	handle('files.move', move);
	handle('files.copy', copy);
	handle('files.chmod', chmod);
	handle('files.delete', remove);
	handle('files.write_many', writeMany);
	handleChannel('file-read', readChannel);
	handleChannel('file-write', writeChannel);
	handleChannel('file-tar', tarChannel);
	handleChannel('file-watch', watchChannel);
}
