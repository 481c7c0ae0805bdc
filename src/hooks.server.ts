import type { Handle, HandleServerError } from '@sveltejs/kit';
import { randomToken } from '$lib/server/auth/crypto';
import { authenticateBearer, userPrincipal, type Principal } from '$lib/server/auth/principal';
import { SESSION_COOKIE, validateSessionToken } from '$lib/server/auth/session';
import { ORG_COOKIE, setSessionCookie, clearSessionCookie } from '$lib/server/auth/cookies';
import { redeemTicket } from '$lib/server/tickets/service';
import { ApiError, invalidToken } from '$lib/server/http/errors';
import { checkRate } from '$lib/server/http/rate-limit';
import { errorResponse } from '$lib/server/http/respond';
import { env } from '$lib/server/env';
import { ensureStarted } from '$lib/server/startup';
// Registers preview and deployment URLs with server.js and the WebSocket router (before SvelteKit).
import '$lib/server/previews/entry';
import '$lib/server/deployments/entry';

// SSE routes that browsers open with EventSource, which cannot send headers: `?ticket=sset_…`.
const TICKET_PATHS = /\/(events|stream|watch|logs)(\/|$)/;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const handle: Handle = async ({ event, resolve }) => {
	await ensureStarted();
	const requestId = `req_${randomToken(13)}`;
	event.locals.requestId = requestId;
	event.locals.principal = null;
	event.locals.authError = null;
	event.locals.user = null;
	event.locals.session = null;
	event.locals.ip = event.getClientAddress();
	const path = event.url.pathname;
	const isApi = path.startsWith('/api/');

	if (isApi) {
		try {
			checkRate(`ip:${event.locals.ip}`, env.HANGAR_RATE_LIMIT_IP_RPM);
			await authenticateApi(event);
			const p = event.locals.principal as Principal | null;
			if (p?.rateLimitRpm && p.apiKeyId) checkRate(`key:${p.apiKeyId}`, p.rateLimitRpm);
		} catch (err) {
			if (err instanceof ApiError && err.status !== 401) return errorResponse(err, requestId);
			event.locals.authError = err instanceof ApiError ? err : invalidToken();
			event.locals.principal = null;
		}
	} else {
		await authenticateCookie(event, null);
	}

	const response = await resolve(event);
	if (isApi && response.status >= 404 && response.status <= 405 && !(response.headers.get('content-type') ?? '').includes('json')) {
		const err =
			response.status === 405
				? new ApiError(405, 'METHOD_NOT_ALLOWED', `${event.request.method} is not allowed on ${path}`)
				: new ApiError(404, 'NOT_FOUND', `no route ${event.request.method} ${path}`);
		const r = errorResponse(err, requestId);
		const allow = response.headers.get('allow');
		if (allow) r.headers.set('allow', allow);
		return r;
	}
	response.headers.set('x-request-id', requestId);
	response.headers.set('x-content-type-options', 'nosniff');
	if (!isApi && !path.startsWith('/embed/') && (response.headers.get('content-type') ?? '').includes('text/html')) {
		response.headers.set('content-security-policy', "frame-ancestors 'none'");
		response.headers.set('x-frame-options', 'DENY');
	}
	return response;
};

async function authenticateApi(event: Parameters<Handle>[0]['event']) {
	const header = event.request.headers.get('authorization');
	const tenant = event.request.headers.get('x-miosa-tenant');
	if (header) {
		const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
		if (!m) throw invalidToken('Authorization must be "Bearer <token>"');
		event.locals.principal = await authenticateBearer(m[1], tenant);
		return;
	}
	const ticket = event.url.searchParams.get('ticket');
	if (ticket && event.request.method === 'GET' && TICKET_PATHS.test(event.url.pathname)) {
		const p = await redeemTicket(ticket, 'sse');
		if (!p) throw invalidToken('invalid, expired or already used ticket');
		event.locals.principal = p;
		return;
	}
	// The dashboard calls the API with its cookie; cross-site mutations are refused.
	if (event.cookies.get(SESSION_COOKIE)) {
		const origin = event.request.headers.get('origin');
		const added = event.request.headers.get('x-hangar-origin-added') === '1';
		if (MUTATING.has(event.request.method) && (added || !origin || origin !== event.url.origin)) {
			throw new ApiError(403, 'FORBIDDEN', 'cross-site request refused: use an API key or the dashboard');
		}
		await authenticateCookie(event, tenant);
	}
}

async function authenticateCookie(event: Parameters<Handle>[0]['event'], tenant: string | null) {
	const token = event.cookies.get(SESSION_COOKIE);
	if (!token) return;
	const { session, user } = await validateSessionToken(token, 'cookie');
	if (!session) {
		clearSessionCookie(event);
		return;
	}
	setSessionCookie(event, token, session.expiresAt);
	event.locals.user = user;
	event.locals.session = session;
	try {
		event.locals.principal = await userPrincipal(user, tenant ?? event.cookies.get(ORG_COOKIE) ?? null);
	} catch {
		event.locals.principal = await userPrincipal(user, null).catch(() => null);
	}
}

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const requestId = event.locals?.requestId ?? 'unknown';
	// Unknown pages are not server errors: no stack trace in the log.
	if (status === 404) return { message, requestId };
	console.error(`[${requestId}] ${event.request.method} ${event.url.pathname}`, error);
	return { message: 'Internal error', requestId };
};
