// The preview proxy: HTTP and WebSocket requests for `<port>-<id>.preview.<base>` (or
// `/preview/<id>/<port>/…`) reach 127.0.0.1:<port> inside the sandbox through its host agent.
//
// Per request: find the sandbox, check access (public preview, share token, preview token, or a
// dashboard session of the organization), resume a paused sandbox, open a 'tcp' channel on the
// agent and speak HTTP/1.1 over it with Node's client (`createConnection: () => channel`), which
// streams both bodies with backpressure. Upgrades (dev-server hot reload) write the request head
// to the channel and then pipe the sockets. Credentials are stripped before forwarding; a token
// in the query of a page load becomes a cookie on the preview origin and is removed by a redirect.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Channel } from '$lib/protocol/peer';
import { SESSION_COOKIE, validateSessionToken } from '../auth/session';
import type { Sandbox } from '../db/schema';
import { openAgentChannel } from '../hosts/channels';
import { AgentError, HostUnavailableError } from '../hosts/hub';
import { ApiError } from '../http/errors';
import { checkRate } from '../http/rate-limit';
import { ensureRunning, touch } from '../sandboxes/service';
import type { PreviewTarget } from './config';
import { forgetTarget, isMember, lookupTarget, resolveShareToken, sandboxById } from './service';
import { MP_PREFIX, SHARE_PREFIX, peekPreviewToken, verifyPreviewToken, type PreviewScope } from './tokens';
import { errorPage, type PageSpec } from './pages';

const HOP_BY_HOP = new Set([
	'connection',
	'keep-alive',
	'proxy-connection',
	'proxy-authenticate',
	'proxy-authorization',
	'te',
	'trailer',
	'trailers',
	'transfer-encoding',
	'upgrade'
]);
const TOKEN_PARAMS = ['preview_token', 'mt'];
const TOKEN_HEADER = 'x-miosa-preview-token';
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const PUBLIC_RPM = Number(process.env.HANGAR_PREVIEW_RATE_LIMIT_RPM ?? 6000);

const cookieName = (t: PreviewTarget) => (t.form === 'host' ? 'hangar_pv' : `hangar_pv_${t.port}`);
const cookiePath = (t: PreviewTarget) => (t.form === 'host' ? '/' : `${t.prefix}/`);

function parseCookies(header: string | undefined): Map<string, string> {
	const out = new Map<string, string>();
	for (const part of (header ?? '').split(';')) {
		const i = part.indexOf('=');
		if (i <= 0) continue;
		const k = part.slice(0, i).trim();
		if (!out.has(k)) out.set(k, decodeURIComponent(part.slice(i + 1).trim()));
	}
	return out;
}

/** The Cookie header without Hangar's own cookies (session, org, preview credentials). */
function cleanCookieHeader(header: string | undefined): string | null {
	const kept = (header ?? '')
		.split(';')
		.map((p) => p.trim())
		.filter((p) => p && !/^hangar_/i.test(p.split('=')[0]));
	return kept.length ? kept.join('; ') : null;
}

const isPreviewToken = (v: string) => v.startsWith(MP_PREFIX) || v.startsWith(SHARE_PREFIX);

interface Access {
	row: Sandbox;
	scope: PreviewScope | 'public' | 'session';
	/** A valid credential arrived in the query: remember it in a cookie. */
	fromQuery: { token: string; expiresAt: Date } | null;
}

type Decision = { ok: true; access: Access } | { ok: false; page: PageSpec };

async function checkToken(token: string, row: Sandbox, t: PreviewTarget): Promise<{ scope: PreviewScope; expiresAt: Date } | { error: 'expired' | 'invalid' | 'wrong' }> {
	if (token.startsWith(SHARE_PREFIX)) {
		const share = await resolveShareToken(token);
		if (!share) return { error: 'invalid' };
		if (share.sandboxId !== row.id || share.port !== t.port) return { error: 'wrong' };
		return { scope: 'interact', expiresAt: share.expiresAt };
	}
	if (token.startsWith(MP_PREFIX)) {
		const c = verifyPreviewToken(token);
		if (!c) {
			const peek = peekPreviewToken(token);
			return { error: peek?.exp && peek.exp * 1000 <= Date.now() ? 'expired' : 'invalid' };
		}
		if (c.sub !== row.id || c.org !== row.organizationId || (c.port && c.port !== t.port)) return { error: 'wrong' };
		return { scope: c.scope, expiresAt: new Date(c.exp * 1000) };
	}
	return { error: 'invalid' };
}


/** Resumes a paused sandbox once for all concurrent requests; a lost race that left it running is fine. */
const resuming = new Map<string, Promise<Sandbox>>();
async function running(row: Sandbox): Promise<Sandbox> {
	if (row.state === 'running') {
		touch(row);
		return row;
	}
	let p = resuming.get(row.id);
	if (!p) {
		p = ensureRunning(row)
			.catch(async (e) => {
				const fresh = await sandboxById(row.id);
				if (fresh?.state === 'running') return fresh;
				throw e;
			})
			.finally(() => {
				resuming.delete(row.id);
				forgetTarget(row.id);
			});
		resuming.set(row.id, p);
	}
	return p;
}

async function authorize(req: IncomingMessage, t: PreviewTarget, url: URL, ip: string): Promise<Decision> {
	const { row, pv } = await lookupTarget(t.sandboxId, t.port);
	if (!row) return { ok: false, page: { status: 404, code: 'SANDBOX_NOT_FOUND', title: 'No such sandbox', message: `There is no sandbox ${t.sandboxId}. Check the link, or ask its owner for a new one.` } };
	const isPublic = pv?.visibility === 'public';

	const fromQuery = url.searchParams.get('preview_token') ?? url.searchParams.get('mt') ?? [url.searchParams.get('token')].find((v) => v && isPreviewToken(v)) ?? null;
	const fromHeader = req.headers[TOKEN_HEADER];
	const fromCookie = parseCookies(req.headers.cookie).get(cookieName(t));
	const candidates: { token: string; query: boolean }[] = [];
	if (fromQuery) candidates.push({ token: fromQuery, query: true });
	if (typeof fromHeader === 'string' && fromHeader) candidates.push({ token: fromHeader.trim(), query: false });
	if (fromCookie) candidates.push({ token: fromCookie, query: false });

	let failure: 'expired' | 'invalid' | 'wrong' | null = null;
	for (const c of candidates) {
		const r = await checkToken(c.token, row, t);
		if ('scope' in r) return { ok: true, access: { row, scope: r.scope, fromQuery: c.query ? { token: c.token, expiresAt: r.expiresAt } : null } };
		failure ??= r.error;
	}
	if (isPublic) {
		try {
			checkRate(`preview:${ip}`, PUBLIC_RPM);
		} catch (e) {
			const retry = (e as ApiError).headers?.['retry-after'] ?? '60';
			return { ok: false, page: { status: 429, code: 'RATE_LIMITED', title: 'Too many requests', message: `This public preview is rate-limited per address. Retry in ${retry} s.`, headers: { 'retry-after': retry } } };
		}
		return { ok: true, access: { row, scope: 'public', fromQuery: null } };
	}
	// A dashboard session of the organization (the path form shares the dashboard's origin).
	const session = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
	if (session) {
		const v = await validateSessionToken(session, 'cookie').catch(() => ({ user: null }));
		if (v.user && (await isMember(v.user.id, row.organizationId))) return { ok: true, access: { row, scope: 'session', fromQuery: null } };
	}
	if (failure === 'expired')
		return { ok: false, page: { status: 401, code: 'PREVIEW_TOKEN_EXPIRED', title: 'This preview link has expired', message: 'The token in this link is no longer valid. Ask for a new link (share tokens and preview tokens are short-lived).' } };
	if (failure)
		return { ok: false, page: { status: 401, code: 'PREVIEW_TOKEN_INVALID', title: 'This preview link is not valid', message: 'The token was revoked, has expired, or belongs to another preview. Ask for a new link.' } };
	return {
		ok: false,
		page: {
			status: 401,
			code: 'PREVIEW_PRIVATE',
			title: 'This preview is private',
			message: 'Open it from the dashboard while signed in to its organization, or use a share link (?preview_token=…) or a preview token (?mt=…).'
		}
	};
}

/** State checks (a paused sandbox resumes) and the channel to the port. */
type Connected = { ok: true; ch: Channel; row: Sandbox } | { ok: false; page: PageSpec };

async function connect(access: Access, t: PreviewTarget): Promise<Connected> {
	const first = await connectOnce(access.row, t);
	if (first.ok || !('stale' in first)) return first;
	// The cached row was behind (paused by the sweeper, destroyed meanwhile): once more, fresh.
	forgetTarget(access.row.id);
	const fresh = await sandboxById(access.row.id);
	if (!fresh) return first;
	const again = await connectOnce(fresh, t);
	return again.ok ? again : { ok: false, page: again.page };
}

async function connectOnce(row: Sandbox, t: PreviewTarget): Promise<Connected | { ok: false; page: PageSpec; stale: true }> {
	if (row.state === 'destroyed')
		return { ok: false, page: { status: 410, code: 'SANDBOX_DESTROYED', title: 'This sandbox was destroyed', message: 'The sandbox behind this preview no longer exists, so there is nothing to show.' } };
	if (row.state === 'provisioning')
		return { ok: false, page: { status: 503, code: 'SANDBOX_STARTING', title: 'The sandbox is starting', message: 'Reload in a few seconds.', headers: { 'retry-after': '2' }, refresh: 2 } };
	if (row.state === 'error')
		return { ok: false, page: { status: 503, code: 'SANDBOX_NOT_RUNNING', title: 'The sandbox is stopped', message: `It is not running${row.lastError ? ` (${row.lastError})` : ''}. Start a new one, or restore it from a snapshot.` } };
	try {
		row = await running(row);
	} catch (e) {
		const msg = e instanceof ApiError ? e.message : 'it could not be resumed';
		return { ok: false, page: { status: 503, code: 'SANDBOX_NOT_RUNNING', title: 'The sandbox is stopped', message: `The sandbox is not running: ${msg}.` } };
	}
	try {
		const ch = await openAgentChannel(row.hostId!, 'tcp', { sandbox_id: row.id, port: t.port }, { timeoutMs: 15_000 });
		return { ok: true, ch, row };
	} catch (e) {
		if (e instanceof AgentError && e.code === 'CONNECTION_REFUSED')
			return {
				ok: false,
				page: {
					status: 502,
					code: 'PORT_NOT_LISTENING',
					title: `Nothing is listening on port ${t.port}`,
					message: `The sandbox is running, but nothing is listening on port ${t.port} yet. Start your server (bound to 0.0.0.0 or 127.0.0.1, port ${t.port}) and reload.`,
					refresh: 3
				}
			};
		if (e instanceof HostUnavailableError)
			return { ok: false, page: { status: 502, code: 'AGENT_UNAVAILABLE', title: 'The sandbox host is offline', message: 'Its host agent is not connected to the control plane. Retry shortly.', refresh: 5 } };
		if (e instanceof AgentError && (e.code === 'SANDBOX_NOT_FOUND' || e.code === 'SANDBOX_PAUSED'))
			return { ok: false, stale: true, page: { status: 503, code: 'SANDBOX_NOT_RUNNING', title: 'The sandbox is stopped', message: 'It is no longer running on its host.' } };
		console.error('preview: opening the tcp channel failed', e);
		return { ok: false, page: { status: 502, code: 'PREVIEW_UNAVAILABLE', title: 'The preview is unavailable', message: `Could not reach port ${t.port} in the sandbox. Retry shortly.` } };
	}
}

/** The path form shares the dashboard's origin: its pages get a CSP sandbox unless told otherwise. */
const sandboxedPathForm = () => process.env.HANGAR_PREVIEW_PATH_FORM !== 'unsafe';

function previewCookie(t: PreviewTarget, token: string, expiresAt: Date, secure: boolean): string {
	const maxAge = Math.max(1, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
	// Previews are embedded cross-site (dashboard iframes): SameSite=None needs Secure, which browsers
	// accept on https and on http://localhost / *.localhost. Partitioned keeps it working where
	// third-party cookies are blocked.
	const attrs = secure ? 'SameSite=None; Secure; Partitioned' : 'SameSite=Lax';
	return `${cookieName(t)}=${encodeURIComponent(token)}; Path=${cookiePath(t)}; Max-Age=${maxAge}; HttpOnly; ${attrs}`;
}

function requestProto(req: IncomingMessage): string {
	const p = req.headers['x-hangar-proto'];
	return typeof p === 'string' ? p : (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
}

function clientIp(req: IncomingMessage): string {
	return req.socket.remoteAddress ?? 'unknown';
}

/** The URL the request names (the preview's own path and query) with credentials removed. */
function forwardPath(t: PreviewTarget, url: URL): string {
	for (const p of TOKEN_PARAMS) url.searchParams.delete(p);
	const tok = url.searchParams.get('token');
	if (tok && isPreviewToken(tok)) url.searchParams.delete('token');
	const search = url.searchParams.toString();
	return url.pathname + (search ? `?${search}` : '');
}

/** Request headers for the app: Host rewritten, credentials and hop-by-hop headers dropped. */
function upstreamHeaders(req: IncomingMessage, t: PreviewTarget, keepUpgrade: boolean): [string, string][] {
	const out: [string, string][] = [];
	const connectionTokens = new Set(
		String(req.headers.connection ?? '')
			.split(',')
			.map((s) => s.trim().toLowerCase())
			.filter(Boolean)
	);
	const raw = req.rawHeaders;
	for (let i = 0; i < raw.length; i += 2) {
		const k = raw[i];
		const lk = k.toLowerCase();
		if (lk === 'host' || lk === TOKEN_HEADER || lk === 'cookie' || lk.startsWith('x-forwarded-') || lk === 'x-hangar-proto' || lk === 'x-hangar-origin-added') continue;
		if (keepUpgrade ? lk === 'transfer-encoding' || lk === 'keep-alive' || lk === 'proxy-connection' : HOP_BY_HOP.has(lk) || connectionTokens.has(lk)) continue;
		out.push([k, raw[i + 1]]);
	}
	const cookie = cleanCookieHeader(req.headers.cookie);
	if (cookie) out.push(['Cookie', cookie]);
	out.push(['Host', `localhost:${t.port}`]);
	out.push(['X-Forwarded-Host', String(req.headers.host ?? '')]);
	out.push(['X-Forwarded-Proto', requestProto(req)]);
	out.push(['X-Forwarded-For', [req.headers['x-forwarded-for'], clientIp(req)].filter(Boolean).join(', ')]);
	if (t.prefix) out.push(['X-Forwarded-Prefix', t.prefix]);
	if (!keepUpgrade) out.push(['Connection', 'close']);
	return out;
}

/** Response headers for the browser: hop-by-hop dropped, Location and Set-Cookie kept on the preview. */
function downstreamHeaders(raw: string[], req: IncomingMessage, t: PreviewTarget): string[] {
	const out: string[] = [];
	const publicOrigin = `${requestProto(req)}://${req.headers.host ?? 'localhost'}`;
	const local = new RegExp(`^https?://(localhost|127\\.0\\.0\\.1|0\\.0\\.0\\.0|\\[::1\\])(:${t.port})?(?=/|$)`, 'i');
	for (let i = 0; i < raw.length; i += 2) {
		const k = raw[i];
		const lk = k.toLowerCase();
		let v = raw[i + 1];
		if (HOP_BY_HOP.has(lk)) continue;
		if (lk === 'location') {
			if (local.test(v)) v = v.replace(local, t.prefix ? `${publicOrigin}${t.prefix}` : publicOrigin);
			else if (t.prefix && v.startsWith('/') && !v.startsWith('//')) v = t.prefix + v;
		} else if (lk === 'set-cookie') {
			const name = v.split('=')[0].trim();
			if (/^hangar_/i.test(name)) continue; // never let an app set the dashboard's or our cookies
			// No Domain (it would reach other previews); the path form stays under its prefix.
			let c = v.replace(/;\s*domain=[^;]*/gi, '');
			if (t.prefix) {
				const m = /;\s*path=([^;]*)/i.exec(c);
				const p = m ? m[1].trim() : '/';
				const scoped = `${t.prefix}${p.startsWith('/') ? p : `/${p}`}`;
				c = m ? c.replace(/;\s*path=[^;]*/i, `; Path=${scoped}`) : `${c}; Path=${scoped}`;
			}
			v = c;
		}
		out.push(k, v);
	}
	if (t.responseTag) out.push(t.responseTag.name, t.responseTag.value);
	else out.push('X-Hangar-Preview', `${t.sandboxId}:${t.port}`);
	// The path form is served from the dashboard's own origin: without a sandbox the app's
	// scripts could call the API with a signed-in visitor's cookie. The CSP sandbox gives the
	// document an opaque origin. HANGAR_PREVIEW_PATH_FORM=unsafe lifts it (trusted code only);
	// the host form (its own origin) needs none of this.
	if (t.prefix && sandboxedPathForm()) {
		out.push('Content-Security-Policy', 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads allow-pointer-lock');
		// The app's own fetches now come from an opaque origin (`Origin: null`): let it read them.
		if (req.headers.origin === 'null') out.push('Access-Control-Allow-Origin', 'null', 'Vary', 'Origin');
	}
	return out;
}

export function sendPage(res: ServerResponse, spec: PageSpec): void {
	if (res.headersSent) {
		res.destroy();
		return;
	}
	const body = errorPage(spec);
	res.writeHead(spec.status, {
		'content-type': 'text/html; charset=utf-8',
		'content-length': Buffer.byteLength(body),
		'cache-control': 'no-store',
		'x-hangar-preview-error': spec.code,
		'x-content-type-options': 'nosniff',
		...(spec.headers ?? {})
	});
	res.end(body);
}

function isSecureContext(req: IncomingMessage): boolean {
	const host = String(req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
	return requestProto(req) === 'https' || host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1';
}

export async function handlePreviewHttp(req: IncomingMessage, res: ServerResponse, t: PreviewTarget): Promise<void> {
	const url = new URL(t.path, 'http://preview.invalid');
	if (t.needsSlash) {
		res.writeHead(308, { location: `${t.prefix}/${url.search}`, 'cache-control': 'no-store' });
		res.end();
		return;
	}
	const method = (req.method ?? 'GET').toUpperCase();
	const decision = await authorize(req, t, url, clientIp(req));
	if (!decision.ok) return sendPage(res, decision.page);
	const { access } = decision;
	if (access.scope === 'read' && !READ_METHODS.has(method)) {
		return sendPage(res, { status: 403, code: 'PREVIEW_READ_ONLY', title: 'This link is read-only', message: `A read-scope preview token allows viewing only (GET and HEAD); this ${method} request was refused.` });
	}
	// CORS preflight of a sandboxed path-form page calling its own app (see downstreamHeaders).
	if (t.prefix && sandboxedPathForm() && method === 'OPTIONS' && req.headers.origin === 'null' && req.headers['access-control-request-method']) {
		res.writeHead(204, {
			'access-control-allow-origin': 'null',
			'access-control-allow-methods': String(req.headers['access-control-request-method']),
			'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? ''),
			'access-control-max-age': '600',
			vary: 'Origin'
		});
		res.end();
		return;
	}
	const path = forwardPath(t, url);
	// A token in the query of a page load: keep it in a cookie on this origin and drop it from the URL.
	if (access.fromQuery && (method === 'GET' || method === 'HEAD')) {
		res.writeHead(302, {
			location: `${t.prefix}${path}`,
			'set-cookie': previewCookie(t, access.fromQuery.token, access.fromQuery.expiresAt, isSecureContext(req)),
			'cache-control': 'no-store',
			'referrer-policy': 'no-referrer'
		});
		res.end();
		return;
	}
	const conn = await connect(access, t);
	if (!conn.ok) return sendPage(res, conn.page);
	pipeHttp(req, res, conn.ch, t, path);
}

/**
 * Speaks HTTP/1.1 to the app over an agent channel (a byte stream to its port) and streams the
 * answer back: used by previews and by dynamic deployments.
 */
export function pipeHttp(req: IncomingMessage, res: ServerResponse, ch: Channel, t: PreviewTarget, path: string): void {
	const method = (req.method ?? 'GET').toUpperCase();
	ch.on('error', () => undefined);

	const headers = upstreamHeaders(req, t, false);
	const upstream = http.request({
		method,
		path,
		headers: headers.flat(),
		createConnection: () => ch as unknown as import('node:net').Socket,
		setHost: false
	} as http.RequestOptions);
	let answered = false;
	upstream.on('response', (ures) => {
		answered = true;
		res.writeHead(ures.statusCode ?? 502, ures.statusMessage, downstreamHeaders(ures.rawHeaders, req, t));
		ures.pipe(res);
		ures.on('error', () => res.destroy());
		ures.on('aborted', () => res.destroy());
	});
	upstream.on('error', (e) => {
		ch.destroy();
		if (!answered)
			sendPage(res, {
				status: 502,
				code: 'UPSTREAM_CLOSED',
				title: 'The app closed the connection',
				message: `The server on port ${t.port} closed the connection without a complete answer (${(e as NodeJS.ErrnoException).code ?? e.message}).`
			});
		else res.destroy();
	});
	res.on('close', () => {
		if (!res.writableFinished) upstream.destroy();
		ch.destroy();
	});
	req.on('aborted', () => upstream.destroy());
	req.pipe(upstream);
}

/** Answers an upgrade request with an HTML error and closes the socket. */
export function refuseUpgrade(socket: Duplex, spec: PageSpec): void {
	if (socket.destroyed) return;
	const body = errorPage(spec);
	socket.end(
		`HTTP/1.1 ${spec.status} ${http.STATUS_CODES[spec.status] ?? 'Error'}\r\n` +
			`content-type: text/html; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-hangar-preview-error: ${spec.code}\r\nconnection: close\r\n\r\n${body}`
	);
}

export async function handlePreviewUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, t: PreviewTarget): Promise<void> {
	socket.on('error', () => undefined);
	const url = new URL(t.path, 'http://preview.invalid');
	const decision = await authorize(req, t, url, req.socket.remoteAddress ?? 'unknown');
	if (!decision.ok) return refuseUpgrade(socket, decision.page);
	const conn = await connect(decision.access, t);
	if (!conn.ok) return refuseUpgrade(socket, conn.page);
	pipeUpgrade(req, socket, head, conn.ch, t, forwardPath(t, url));
}

/** Forwards an upgrade (WebSocket) request over an agent channel, then pipes both ways. */
export function pipeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ch: Channel, t: PreviewTarget, path: string): void {
	if (socket.destroyed) {
		ch.destroy();
		return;
	}
	const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`, ...upstreamHeaders(req, t, true).map(([k, v]) => `${k}: ${v}`)];
	ch.write(`${lines.join('\r\n')}\r\n\r\n`);
	if (head?.length) ch.write(head);
	const done = () => {
		socket.destroy();
		ch.destroy();
	};
	ch.on('error', done);
	socket.on('error', done);
	socket.on('close', () => ch.destroy());
	ch.on('close', () => socket.destroy());
	socket.pipe(ch);
	ch.pipe(socket);
}
