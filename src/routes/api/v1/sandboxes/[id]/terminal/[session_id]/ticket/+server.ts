import { api } from '$lib/server/http/handler';
import { ApiError } from '$lib/server/http/errors';
import { ok } from '$lib/server/http/respond';
import { parseBody, parseId } from '$lib/server/http/validate';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';
import { terminalTicketSchema } from '$lib/server/terminals/schemas';
import { getTerminal, issueTerminalTicket } from '$lib/server/terminals/service';

/**
 * POST /api/v1/sandboxes/{id}/terminal/{session_id}/ticket — sandboxes:write. `{ttl_seconds?}` (default 60, max 3600)
 * → 201 `{data: {ticket, ws_url, embed_url, expires_at, session_id, sandbox_id}}`: a fresh single-use ticket to
 * (re)connect to a live session, or to embed it. 404 when the session is unknown or has ended.
 */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, terminalTicketSchema);
	const s = await loadSandbox(ctx);
	const sessionId = parseId(ctx.params.session_id, 'session id');
	const t = await getTerminal(s, sessionId);
	if (t.state !== 'running') throw new ApiError(404, 'NOT_FOUND', 'terminal session has ended');
	const ticket = await issueTerminalTicket(ctx.principal, s, sessionId, ctx.url.origin, input.ttl_seconds);
	return ok({ session_id: sessionId, sandbox_id: s.id, ...ticket }, 201);
});
