import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { forkSchema } from '$lib/server/snapshots/schemas';
import { forkSandbox } from '$lib/server/snapshots/service';
import { toSandboxDto } from '$lib/server/sandboxes/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/fork — sandboxes:write. `{snapshot_id?, timeout_sec?, name?,
 * metadata?, template_id?}` (+ Idempotency-Key) → 201 `{data: Sandbox}`. Without snapshot_id the
 * live sandbox is snapshotted first (that implicit snapshot is removed once the fork runs).
 */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, forkSchema);
	const row = await forkSandbox(actorOf(ctx), await loadSandbox(ctx), input);
	return ok(toSandboxDto(row), 201);
});
