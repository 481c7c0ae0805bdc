import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { getProcess, stopProcess, toProcessDto } from '$lib/server/sandboxes/processes';
import { parsePid } from '$lib/server/sandboxes/pid';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/sandboxes/{id}/processes/{pid} — sandboxes:read. `{data: {pid, state, exit_code?}}`. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	return ok(toProcessDto(s, await getProcess(s, parsePid(ctx.params.pid))));
});

/** DELETE /api/v1/sandboxes/{id}/processes/{pid} — sandboxes:write. Stops it: SIGTERM, then SIGKILL after 5 s. */
export const DELETE = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	const grace = Number(ctx.url.searchParams.get('grace_ms') ?? '') || undefined;
	return ok(toProcessDto(s, await stopProcess(s, parsePid(ctx.params.pid), grace)));
});
