/**
 * Path policy of the files API (the one place it is decided).
 *
 * - Normalization: NUL is refused; `~` is /home/user; a relative path is relative to /workspace;
 *   `.` and `..` are resolved lexically from `/` (`..` never climbs above `/`); repeated and
 *   trailing slashes go away.
 * - Writes, deletes, moves (both ends), mkdir, chmod: only at or under /workspace, /home/user, /tmp.
 * - Reads: anywhere except /proc, /sys, /dev.
 * - Anything else: 403 FORBIDDEN_PATH.
 *
 * The same policy travels with every agent call (`FILE_POLICY`): the agent resolves symlinks
 * inside the sandbox and checks the resolved path too, so a link in /workspace pointing at /proc
 * or /etc is refused for what the target's location forbids. Everything runs inside the
 * sandbox's own root, so no path (or link) can reach the host's files.
 */
import { DEFAULT_FILE_POLICY, type FilePolicy } from '../../protocol';
import { ApiError, validationError } from '../http/errors';

export const WORKSPACE = '/workspace';
export const HOME = '/home/user';
export const FILE_POLICY: FilePolicy = DEFAULT_FILE_POLICY;
export const WRITE_ROOTS = FILE_POLICY.write.allow;
export const READ_DENY = FILE_POLICY.read.deny;

export type Access = 'read' | 'write';

const MAX_PATH = 4096;
const MAX_NAME = 255;

export const isUnder = (p: string, root: string) => root === '/' || p === root || p.startsWith(root + '/');

export function allowedPath(p: string, access: Access): boolean {
	const rule = access === 'read' ? FILE_POLICY.read : FILE_POLICY.write;
	return rule.allow.some((r) => isUnder(p, r)) && !rule.deny.some((r) => isUnder(p, r));
}

/** Normalizes a client path (see the file comment); throws 400/422 for unusable input. */
export function normalizePath(input: unknown, field = 'path'): string {
	if (input === undefined || input === null || input === '') throw new ApiError(400, 'MISSING_PARAM', `${field} is required`, { field });
	if (typeof input !== 'string') throw validationError(`${field} must be a string`, { [field]: ['must be a string'] });
	if (input.includes('\0')) throw validationError(`${field} must not contain NUL`, { [field]: ['must not contain NUL bytes'] });
	let p = input;
	if (p === '~' || p.startsWith('~/')) p = HOME + p.slice(1);
	else if (!p.startsWith('/')) p = `${WORKSPACE}/${p}`;
	const out: string[] = [];
	for (const seg of p.split('/')) {
		if (seg === '' || seg === '.') continue;
		if (seg === '..') out.pop();
		else {
			if (new TextEncoder().encode(seg).length > MAX_NAME) throw validationError(`a name in ${field} is longer than ${MAX_NAME} bytes`, { [field]: ['name too long'] });
			out.push(seg);
		}
	}
	const norm = '/' + out.join('/');
	if (norm.length > MAX_PATH) throw validationError(`${field} is longer than ${MAX_PATH} characters`, { [field]: ['too long'] });
	return norm;
}

export function forbiddenPath(p: string, access: Access): ApiError {
	return new ApiError(
		403,
		'FORBIDDEN_PATH',
		access === 'write'
			? `${p} is outside the writable directories (${WRITE_ROOTS.join(', ')})`
			: `${p} cannot be read (${READ_DENY.join(', ')} are off limits)`,
		{ path: p, access }
	);
}

/** Normalizes and checks a path for an access; returns the normalized path or throws FORBIDDEN_PATH. */
export function checkPath(input: unknown, access: Access, field = 'path'): string {
	const p = normalizePath(input, field);
	if (!allowedPath(p, access)) throw forbiddenPath(p, access);
	return p;
}

/** `a/b/c` → `c`; `/` → `/`. */
export const baseName = (p: string) => (p === '/' ? '/' : p.slice(p.lastIndexOf('/') + 1));
/** `/a/b` → `/a`. */
export const dirName = (p: string) => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
export const joinPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
