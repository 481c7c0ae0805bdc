/**
 * A computer's files are its sandbox's files: the routes under /computers/{id}/files/** check the
 * computers:* scope, require the computer to be active (409 COMPUTER_NOT_RUNNING), and hand the
 * request to the sandbox files API's handler (files/routes.ts) for the computer's sandbox, with
 * the matching sandboxes:* scope granted for that one call. Shapes are those of the sandbox files
 * API (upload/list bare, stat/readdir `{data}`, download raw); `export` answers the SDK's bare
 * `{url, expires_at}` with a single-use download link (a 'file' ticket).
 */
import type { RequestEvent, RequestHandler } from '@sveltejs/kit';
import type { Scope } from '../auth/scopes';
import { env } from '../env';
import { api, publicApi, type ApiContext } from '../http/handler';
import { ApiError } from '../http/errors';
import { json } from '../http/respond';
import { parseId } from '../http/validate';
import { fileResponse, stat, tarResponse } from '../files/service';
import { checkPath, baseName } from '../files/paths';
import { mintTicket, redeemTicket } from '../tickets/service';
import { getComputer, requireRunning } from './service';
import { loadComputer } from './route-helpers';

type Mapper = (body: Record<string, unknown>) => Record<string, unknown>;

/**
 * Wraps a sandbox files handler for a computer. `scope` is the computers scope checked here;
 * `map` rewrites a JSON answer (2xx only).
 */
export function computerFiles(scope: 'computers:read' | 'computers:write', handler: RequestHandler, map?: Mapper): RequestHandler {
	const sandboxScope: Scope = scope === 'computers:read' ? 'sandboxes:read' : 'sandboxes:write';
	// streamingBody: the inner handler reads the body (and does Idempotency-Key).
	return api({ scope, streamingBody: true }, async (ctx) => {
		const { sb } = await requireRunning(await loadComputer(ctx));
		const principal = { ...ctx.principal, scopes: [...ctx.principal.scopes, sandboxScope] };
		const event = {
			...ctx.event,
			params: { ...ctx.event.params, id: sb.id },
			locals: { ...ctx.event.locals, principal }
		} as RequestEvent;
		const res = await handler(event as Parameters<RequestHandler>[0]);
		if (!map || !res.ok || !(res.headers.get('content-type') ?? '').includes('application/json')) return res;
		const body = (await res.json()) as Record<string, unknown>;
		const headers: Record<string, string> = {};
		res.headers.forEach((v, k) => {
			if (k !== 'content-length' && k !== 'content-type') headers[k] = v;
		});
		return json(map(body), res.status, headers);
	});
}

/** The contract's list shape (`files: [{name, type: file|directory, size_bytes, modified_at}]`) next to the SDK's `entries`. */
export const withFiles: Mapper = (b) => {
	const entries = ((b.entries ?? (b.data as Record<string, unknown>)?.entries ?? []) as Record<string, unknown>[]) ?? [];
	return {
		...b,
		files: entries.map((e) => ({ name: e.name, path: e.path, type: e.is_dir ? 'directory' : 'file', size_bytes: e.size, modified_at: e.modified_at }))
	};
};

/** The SDK's write answer: a bare FileEntry `{name, path, size, is_dir, modified_at}`. */
export const asFileEntry: Mapper = (b) => {
	const path = String(b.path ?? '');
	return { ...b, name: baseName(path), size: b.size_bytes, is_dir: false, modified_at: new Date().toISOString() };
};

const origin = (ctx: ApiContext) => (env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/$/, '') : ctx.url.origin);

/**
 * POST /computers/{id}/files/export {path, expires_in? (s, default 3600, max 86400)} →
 * bare `{url, expires_at, path, filename, size_bytes, is_dir}`; `url` downloads once without credentials.
 */
export const exportRoute = api({ scope: 'computers:read' }, async (ctx) => {
	let input: { path?: unknown; expires_in?: unknown } = {};
	try {
		input = (await ctx.request.json()) as typeof input;
	} catch {
		/* empty or invalid: path missing below */
	}
	if (typeof input?.path !== 'string') throw new ApiError(400, 'MISSING_PARAM', 'path is required', { field: 'path' });
	const path = checkPath(input.path, 'read');
	const ttl = typeof input.expires_in === 'number' && input.expires_in >= 5 && input.expires_in <= 86_400 ? Math.round(input.expires_in) : 3600;
	const c = await loadComputer(ctx);
	const { sb } = await requireRunning(c);
	const info = await stat(sb, path, ctx.request.signal);
	const { ticket, expiresAt } = await mintTicket(ctx.principal, 'file', { ttlSec: ttl, resourceId: c.id, extra: { path } });
	const filename = info.is_dir ? `${baseName(path)}.tar` : baseName(path);
	return json({
		url: `${origin(ctx)}/api/v1/computers/${c.id}/files/export/download?ticket=${encodeURIComponent(ticket)}`,
		expires_at: expiresAt.toISOString(),
		path,
		filename,
		size_bytes: info.is_dir ? null : info.size,
		is_dir: info.is_dir
	});
});

/** GET /computers/{id}/files/export/download?ticket= — the exported file's bytes (single use, no credentials). */
export const exportDownloadRoute = publicApi(async (event) => {
	const raw = event.url.searchParams.get('ticket');
	const t = raw ? await redeemTicket(raw, 'file') : null;
	const id = parseId(event.params.id, 'computer id');
	if (!t || t.resourceId !== id || typeof t.extra.path !== 'string') throw new ApiError(401, 'invalid_token', 'the export link is invalid, used or expired');
	const c = await getComputer(t.organizationId, id);
	const { sb } = await requireRunning(c);
	const path = t.extra.path;
	const info = await stat(sb, path);
	if (info.is_dir) return tarResponse(sb, [path], `${baseName(path)}.tar`);
	return fileResponse(sb, path, { download: baseName(path) });
});
