import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';
import { terminalCreateSchema } from '$lib/server/terminals/schemas';
import { createTerminal, listTerminals } from '$lib/server/terminals/service';

/**
 * POST /api/v1/sandboxes/{id}/terminal — sandboxes:write. `{cols?, rows?, shell?, cwd?, env?, ttl_seconds?}`
 * → 201 `{data: {id, session_id, sandbox_id, shell, cwd, cols, rows, state, ticket, ws_url, embed_url, expires_at, …}}`.
 * Starts a shell in the sandbox (resumed when paused); open `ws_url` (single-use ticket, 60 s by
 * default, up to 3600 s with ttl_seconds) to use it. 404 for another organization's sandbox,
 * 409 SANDBOX_NOT_RUNNING when it is not running. Shares the exec rate budget (300/min per organization).
 */
export const POST = api({ scope: 'sandboxes:write', rateClass: 'exec' }, async (ctx) => {
	const input = await parseBody(ctx.request, terminalCreateSchema);
	const s = await loadSandbox(ctx);
	return ok(await createTerminal(actorOf(ctx), s, input, ctx.url.origin), 201);
});

/** GET /api/v1/sandboxes/{id}/terminal — sandboxes:read. `{data: [session…]}`: live sessions and ones that ended in the last minute. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	return json({ data: await listTerminals(s) });
});
