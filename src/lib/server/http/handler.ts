import type { RequestEvent, RequestHandler } from '@sveltejs/kit';
import type { Principal } from '../auth/principal';
import { requireScope } from '../auth/principal';
import type { Scope } from '../auth/scopes';
import { env } from '../env';
import { ApiError, invalidToken } from './errors';
import { claimKey, completeKey, releaseKey } from './idempotency';
import { readText } from './validate';
import { checkRate } from './rate-limit';
import { errorResponse } from './respond';

export interface ApiContext {
	event: RequestEvent;
	request: Request;
	url: URL;
	params: Record<string, string>;
	principal: Principal;
	requestId: string;
}

export interface ApiOptions {
	/** Scope an API key must carry (people act with full scopes in their organization). */
	scope?: Scope;
	/** Exec-like routes share the contract's per-workspace budget (300 req/min by default). */
	rateClass?: 'exec';
	/** Bodies that must not be buffered (raw uploads) skip idempotency. */
	streamingBody?: boolean;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Wraps an API handler: authentication (resolved in hooks), scope, rate class, Idempotency-Key,
 * and the error envelope. The handler returns a Response.
 */
export function api(options: ApiOptions, fn: (ctx: ApiContext) => Promise<Response>): RequestHandler {
	return async (event) => {
		const requestId = event.locals.requestId;
		let claimedId: string | null = null;
		try {
			const principal = event.locals.principal;
			if (!principal) throw event.locals.authError ?? invalidToken();
			if (options.scope) requireScope(principal, options.scope);
			if (options.rateClass === 'exec') checkRate(`exec:${principal.organizationId}`, env.HANGAR_RATE_LIMIT_EXEC_RPM);

			let request = event.request;
			const key = request.headers.get('idempotency-key');
			if (key && MUTATING.has(request.method) && !options.streamingBody) {
				const body = await readText(request);
				const scope = principal.apiKeyId ?? principal.userId ?? principal.organizationId;
				const claim = await claimKey(scope, key, request.method, event.url.pathname + event.url.search, body);
				if (claim.kind === 'replay') {
					claim.response.headers.set('x-request-id', requestId);
					return claim.response;
				}
				claimedId = claim.id;
				request = new Request(request.url, { method: request.method, headers: request.headers, body: body || undefined });
			}
			const ctx: ApiContext = { event, request, url: event.url, params: event.params as Record<string, string>, principal, requestId };
			let response = await fn(ctx);
			if (claimedId) {
				response = await completeKey(claimedId, response);
				claimedId = null;
			}
			return response;
		} catch (err) {
			const response = errorResponse(err, requestId);
			if (claimedId) {
				// Client errors are the answer to this request and are replayed; server errors are not.
				if (err instanceof ApiError && err.status < 500) await completeKey(claimedId, response.clone()).catch(() => {});
				else await releaseKey(claimedId).catch(() => {});
			}
			return response;
		}
	};
}

/** Public routes (health, signup, login): the envelope without authentication. */
export function publicApi(fn: (event: RequestEvent) => Promise<Response>): RequestHandler {
	return async (event) => {
		try {
			return await fn(event);
		} catch (err) {
			return errorResponse(err, event.locals.requestId);
		}
	};
}
