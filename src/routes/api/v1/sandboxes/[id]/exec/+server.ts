import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { execSchema } from '$lib/server/sandboxes/schemas';
import { execInSandbox } from '$lib/server/sandboxes/service';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/exec — sandboxes:write. `{command, cwd?, env?, timeout? (s), stdin?}` →
 * `{stdout, stderr, exit_code, duration_ms, timed_out}` (also under `data`). A paused sandbox is resumed.
 */
export const POST = api({ scope: 'sandboxes:write', rateClass: 'exec' }, async (ctx) => {
	const input = await parseBody(ctx.request, execSchema);
	const r = await execInSandbox(await loadSandbox(ctx), input, { signal: ctx.request.signal });
	const body = { stdout: r.stdout, stderr: r.stderr, exit_code: r.exit_code, duration_ms: r.duration_ms, timed_out: r.timed_out, truncated: r.truncated, exec_id: r.exec_id };
	return json({ ...body, data: body });
});
