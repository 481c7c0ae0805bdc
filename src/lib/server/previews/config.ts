// Preview URLs: where a sandbox port is served, and how requests for it are recognized.
//
//   host form  http://<port>-<sandbox id>.preview.<base>[:<port of the control plane>]/…
//   path form  <control plane origin>/preview/<sandbox id>/<port>/…
//
// <base> is HANGAR_PREVIEW_DOMAIN when set (e.g. `preview.example.com`, a wildcard DNS name
// pointing at the control plane), otherwise derived from PUBLIC_URL's host (or the request's):
// `preview.<host>`, and `preview.localhost` when that host is an IP address or `localhost`
// (browsers resolve `*.localhost` to the loopback address with no DNS set-up).

import { baseOrigin, hostUrlParts, subdomainBase } from '../http/public-origin';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const HOST_RE = new RegExp(`^(\\d{1,5})-(${UUID}|[0-9a-f]{32})\\.(.+)$`, 'i');
const PATH_RE = new RegExp(`^/preview/(${UUID}|[0-9a-f]{32})/(\\d{1,5})(/.*)?$`, 'i');

export interface PreviewTarget {
	form: 'host' | 'path';
	sandboxId: string;
	port: number;
	/** Path and query to forward (path form: without the /preview/<id>/<port> prefix). */
	path: string;
	/** Path form: the prefix (`/preview/<id>/<port>`), '' for the host form. */
	prefix: string;
	/** Path form only: the URL lacked the slash after the port (redirect to add it). */
	needsSlash: boolean;
	/** A header identifying the response (default `X-Hangar-Preview: <sandbox>:<port>`). */
	responseTag?: { name: string; value: string };
}

export const previewDomain = () => (process.env.HANGAR_PREVIEW_DOMAIN ?? '').trim().replace(/^\.+|\.+$/g, '').toLowerCase();
/** `0` turns the path form off; `unsafe` serves it without the CSP sandbox (see proxy.ts). */
export const pathFormEnabled = () => process.env.HANGAR_PREVIEW_PATH_FORM !== '0';

function normalizeId(id: string): string {
	const s = id.toLowerCase();
	return s.length === 32 ? `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}` : s;
}

const validPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

/** Recognizes a preview request from its Host header and URL (cheap: no database). */
export function matchPreview(host: string | undefined, url: string | undefined): PreviewTarget | null {
	const rawUrl = url ?? '/';
	if (host) {
		const hostname = host.replace(/:\d+$/, '').replace(/\.$/, '');
		const m = HOST_RE.exec(hostname);
		if (m) {
			const rest = m[3].toLowerCase();
			const domain = previewDomain();
			if (rest === domain || rest.startsWith('preview.')) {
				const port = Number(m[1]);
				if (validPort(port)) return { form: 'host', sandboxId: normalizeId(m[2]), port, path: rawUrl.startsWith('/') ? rawUrl : `/${rawUrl}`, prefix: '', needsSlash: false };
			}
		}
	}
	if (rawUrl.startsWith('/preview/') && pathFormEnabled()) {
		const q = rawUrl.indexOf('?');
		const pathname = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
		const search = q >= 0 ? rawUrl.slice(q) : '';
		const m = PATH_RE.exec(pathname);
		if (m) {
			const port = Number(m[2]);
			if (!validPort(port)) return null;
			const id = normalizeId(m[1]);
			return { form: 'path', sandboxId: id, port, path: (m[3] ?? '/') + search, prefix: `/preview/${id}/${port}`, needsSlash: m[3] === undefined };
		}
	}
	return null;
}

export function previewHostBase(requestOrigin?: string | URL): string {
	return subdomainBase('preview', previewDomain(), requestOrigin);
}

/** Host-form and path-form URLs of a sandbox port (with a trailing slash). */
export function previewUrls(sandboxId: string, port: number, requestOrigin?: string | URL): { url: string; path_url: string } {
	const base = baseOrigin(requestOrigin);
	const { portPart, scheme } = hostUrlParts(base, process.env.HANGAR_PREVIEW_ORIGIN_PORT, process.env.HANGAR_PREVIEW_SCHEME);
	return {
		url: `${scheme}//${port}-${sandboxId}.${previewHostBase(requestOrigin)}${portPart}/`,
		path_url: `${base.origin}/preview/${sandboxId}/${port}/`
	};
}
