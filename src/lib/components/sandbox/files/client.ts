// The file browser's calls to the files API (same origin, session cookie).
import { apiData, apiFetch, ensureOk } from '../api';

export interface FileEntry {
	name: string;
	path: string;
	type: 'file' | 'dir';
	size: number;
	is_dir: boolean;
	is_symlink: boolean;
	symlink_target?: string;
	mode: number;
	permissions: string;
	modified_at: string;
}

/** Files the editor opens (bigger ones are downloaded instead). */
export const MAX_EDIT_BYTES = 1024 * 1024;

const base = (sandboxId: string) => `/sandboxes/${sandboxId}/files`;

/** `/workspace/a b` → `workspace/a%20b` (the rest-param route of the raw file). */
export const encodePath = (path: string) => path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');

export const rawUrl = (sandboxId: string, path: string) => `/api/v1${base(sandboxId)}/${encodePath(path)}`;
export const downloadUrl = (sandboxId: string, path: string) => `/api/v1${base(sandboxId)}/download?path=${encodeURIComponent(path)}`;

export const joinPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
export const parentOf = (p: string) => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));

export async function listDir(sandboxId: string, path: string): Promise<{ path: string; entries: FileEntry[]; truncated: boolean }> {
	return apiData(`${base(sandboxId)}?path=${encodeURIComponent(path)}`);
}

/** The text of a file, or null when it is not UTF-8 text. */
export async function readText(sandboxId: string, path: string): Promise<string | null> {
	const res = await ensureOk(await fetch(rawUrl(sandboxId, path), { credentials: 'same-origin' }));
	const bytes = new Uint8Array(await res.arrayBuffer());
	if (bytes.includes(0)) return null;
	try {
		return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		return null;
	}
}

/** Streams a body into a file (raw PUT; the server never holds it whole). */
export async function putFile(sandboxId: string, path: string, body: Blob | string): Promise<{ path: string; size_bytes: number }> {
	const res = await ensureOk(
		await fetch(rawUrl(sandboxId, path), {
			method: 'PUT',
			credentials: 'same-origin',
			headers: { 'content-type': 'application/octet-stream', accept: 'application/json' },
			body
		})
	);
	return ((await res.json()) as { data: { path: string; size_bytes: number } }).data;
}

export const makeDir = (sandboxId: string, path: string) => apiData(`${base(sandboxId)}/mkdir`, { method: 'POST', body: { path, parents: false } });
export const rename = (sandboxId: string, from: string, to: string) => apiData(`${base(sandboxId)}/move`, { method: 'POST', body: { from, to } });
export const remove = async (sandboxId: string, path: string) =>
	ensureOk(await apiFetch(`${base(sandboxId)}?path=${encodeURIComponent(path)}&recursive=true`, { method: 'DELETE' }));

export { formatBytes } from '$lib/format';

/** A name typed by a person: one path component. */
export function validName(name: string): string | null {
	const n = name.trim();
	if (!n) return 'Enter a name.';
	if (n.includes('/')) return 'A name cannot contain "/".';
	if (n === '.' || n === '..') return 'Choose another name.';
	return null;
}
