import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { requireRunning } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { execInSandbox } from '$lib/server/sandboxes/service';

const schema = z.object({ code: z.string().min(1).max(1_000_000), timeout: z.number().positive().max(300).optional() });

/** POST /api/v1/computers/{id}/exec/python `{code, timeout?}` — computers:write → bare `{stdout, stderr, exit_code, output, success}` (python3, code on stdin). */
export const POST = api({ scope: 'computers:write', rateClass: 'exec' }, async (ctx) => {
	const input = await parseBody(ctx.request, schema);
	const { sb } = await requireRunning(await loadComputer(ctx));
	const r = await execInSandbox(sb, { command: 'exec python3 -', stdin: input.code, cwd: '/home/user', env: { DISPLAY: ':1' }, timeout: input.timeout ?? 30, shell: 'bash' }, { signal: ctx.request.signal });
	return json({ stdout: r.stdout, stderr: r.stderr, exit_code: r.exit_code, output: r.stdout + r.stderr, success: r.exit_code === 0, duration_ms: r.duration_ms, timed_out: r.timed_out });
});
