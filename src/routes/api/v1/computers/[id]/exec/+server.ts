import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { computerExecSchema, requireRunning } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { execInSandbox } from '$lib/server/sandboxes/service';

/**
 * POST /api/v1/computers/{id}/exec — computers:write. `{command, timeout? (s, default 30, max 300),
 * working_dir?, env?}` → bare `{stdout, stderr, exit_code, output, success, duration_ms, timed_out}`
 * (bash in the computer as `user`, DISPLAY=:1). 409 COMPUTER_NOT_RUNNING unless active.
 */
export const POST = api({ scope: 'computers:write', rateClass: 'exec' }, async (ctx) => {
	const input = await parseBody(ctx.request, computerExecSchema);
	const { sb } = await requireRunning(await loadComputer(ctx));
	const r = await execInSandbox(
		sb,
		{ command: input.command, cwd: input.working_dir ?? input.cwd ?? '/home/user', env: { DISPLAY: ':1', ...(input.env ?? {}) }, timeout: input.timeout ?? 30, shell: 'bash' },
		{ signal: ctx.request.signal }
	);
	return json({ stdout: r.stdout, stderr: r.stderr, exit_code: r.exit_code, output: r.stdout + r.stderr, success: r.exit_code === 0, duration_ms: r.duration_ms, timed_out: r.timed_out });
});
