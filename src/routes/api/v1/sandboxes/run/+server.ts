import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { sandboxCreateSchema } from '$lib/server/sandboxes/schemas';
import { createSandbox, destroySandbox, execInSandbox, getSandbox, toSandboxDto } from '$lib/server/sandboxes/service';
import { actorOf } from '$lib/server/sandboxes/route-helpers';
import { ApiError } from '$lib/server/http/errors';

const runSchema = sandboxCreateSchema.and(
	z.object({
		command: z.string().min(1).max(100_000),
		cwd: z.string().optional(),
		exec_timeout: z.number().positive().max(3600).optional(),
		/** Destroy the sandbox after the command (default false: it stays for more commands). */
		destroy_after: z.boolean().optional()
	})
);

/**
 * POST /api/v1/sandboxes/run — sandboxes:write. Fused create → first command:
 * 201 `{data: {sandbox}, exec: {stdout, stderr, exit_code, duration_ms}, timings: {create_ms, exec_ms, total_ms}}`.
 */
export const POST = api({ scope: 'sandboxes:write', rateClass: 'exec' }, async (ctx) => {
	const t0 = performance.now();
	const input = await parseBody(ctx.request, runSchema);
	const actor = actorOf(ctx);
	let row = await createSandbox(actor, input);
	const t1 = performance.now();
	if (row.state !== 'running') {
		throw new ApiError(409, 'SANDBOX_NOT_RUNNING', 'the sandbox is still provisioning (its template is being built); poll GET /sandboxes/{id}', {
			sandbox_id: row.id
		});
	}
	const result = await execInSandbox(row, { command: input.command, cwd: input.cwd, env: input.env, timeout: input.exec_timeout });
	const t2 = performance.now();
	if (input.destroy_after) row = await destroySandbox(actor, row);
	else row = await getSandbox(row.organizationId, row.id);
	return json(
		{
			data: { sandbox: toSandboxDto(row) },
			exec: { stdout: result.stdout, stderr: result.stderr, exit_code: result.exit_code, duration_ms: result.duration_ms, timed_out: result.timed_out },
			timings: { create_ms: Math.round(t1 - t0), exec_ms: Math.round(t2 - t1), total_ms: Math.round(t2 - t0), boot_ms: row.bootMs, boot_path: row.bootPath }
		},
		201
	);
});
