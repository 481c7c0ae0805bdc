import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { processStartSchema } from '$lib/server/sandboxes/schemas';
import { listProcesses, startProcess, toProcessDto } from '$lib/server/sandboxes/processes';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/sandboxes/{id}/processes — sandboxes:read. Background processes, running and exited. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	const list = await listProcesses(s);
	return json({ data: list.map((p) => toProcessDto(s, p)) });
});

/** POST /api/v1/sandboxes/{id}/processes — sandboxes:write. `{command, cwd?, env?, name?}` → 201 `{data: {pid, …}}`. */
export const POST = api({ scope: 'sandboxes:write', rateClass: 'exec' }, async (ctx) => {
	const input = await parseBody(ctx.request, processStartSchema);
	const s = await loadSandbox(ctx);
	return ok(toProcessDto(s, await startProcess(s, input)), 201);
});
