import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody, parseId } from '$lib/server/http/validate';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';
import { terminalResizeSchema } from '$lib/server/terminals/schemas';
import { resizeTerminal } from '$lib/server/terminals/service';

/** POST /api/v1/sandboxes/{id}/terminal/{session_id}/resize — sandboxes:write. `{cols, rows}` → `{data: session}`; 404 when unknown. */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const { cols, rows } = await parseBody(ctx.request, terminalResizeSchema);
	const s = await loadSandbox(ctx);
	return ok(await resizeTerminal(s, parseId(ctx.params.session_id, 'session id'), cols, rows));
});
