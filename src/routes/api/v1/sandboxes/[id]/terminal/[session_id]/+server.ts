import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseId } from '$lib/server/http/validate';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';
import { deleteTerminal, getTerminal } from '$lib/server/terminals/service';

/** GET /api/v1/sandboxes/{id}/terminal/{session_id} — sandboxes:read. `{data: session}`; 404 when unknown. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	return ok(await getTerminal(s, parseId(ctx.params.session_id, 'session id')));
});

/**
 * DELETE /api/v1/sandboxes/{id}/terminal/{session_id} — sandboxes:write. Ends the session (SIGHUP,
 * SIGKILL after 2 s); connected sockets get `{"type":"exit"}` and close. `{data: session}`; 404 when unknown.
 */
export const DELETE = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	return ok(await deleteTerminal(actorOf(ctx), s, parseId(ctx.params.session_id, 'session id')));
});
