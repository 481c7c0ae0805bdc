import { api } from '$lib/server/http/handler';
import { notFound } from '$lib/server/http/errors';
import { ok } from '$lib/server/http/respond';
import { parseId } from '$lib/server/http/validate';
import { deleteSnapshot, getSnapshot, toSnapshotDto } from '$lib/server/snapshots/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';
import type { ApiContext } from '$lib/server/http/handler';

async function load(ctx: ApiContext) {
	const s = await loadSandbox(ctx);
	const snap = await getSnapshot(s.organizationId, parseId(ctx.params.sid, 'snapshot id'));
	if (snap.sandboxId !== s.id) throw notFound('snapshot');
	return snap;
}

/** GET /api/v1/sandboxes/{id}/snapshots/{sid} — sandboxes:read. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => ok(toSnapshotDto(await load(ctx))));

/** DELETE /api/v1/sandboxes/{id}/snapshots/{sid} — sandboxes:write. Removes its storage on the host → `{data: {…, status: "deleted"}}`. */
export const DELETE = api({ scope: 'sandboxes:write' }, async (ctx) => ok(toSnapshotDto(await deleteSnapshot(actorOf(ctx), await load(ctx)))));
