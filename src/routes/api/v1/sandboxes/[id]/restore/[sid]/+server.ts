import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody, parseId } from '$lib/server/http/validate';
import { restoreSchema } from '$lib/server/snapshots/schemas';
import { restoreSnapshot } from '$lib/server/snapshots/service';
import { toSandboxDto } from '$lib/server/sandboxes/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/restore/{sid} — sandboxes:write. `{name?, metadata?, timeout_sec?}`
 * → 201 `{data: Sandbox}`: a NEW sandbox whose files are the snapshot's (the source may be
 * destroyed). Same template, size, network, env and workspace as the source. Placed on the host
 * that stores the snapshot (409 region_unavailable when it is offline).
 */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, restoreSchema);
	const source = await loadSandbox(ctx);
	const row = await restoreSnapshot(actorOf(ctx), parseId(ctx.params.sid, 'snapshot id'), { ...input, source });
	return ok(toSandboxDto(row), 201);
});
