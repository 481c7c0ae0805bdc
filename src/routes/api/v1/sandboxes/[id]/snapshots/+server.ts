import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { listBody, readPage } from '$lib/server/http/pagination';
import { parseBody } from '$lib/server/http/validate';
import { snapshotCreateSchema } from '$lib/server/snapshots/schemas';
import { createSnapshot, listSnapshots, toSnapshotDto } from '$lib/server/snapshots/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/sandboxes/{id}/snapshots — sandboxes:read. `{data: Snapshot[], page}`, newest first (also for a destroyed sandbox). */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	const page = readPage(ctx.url);
	const { rows, total } = await listSnapshots(s.organizationId, page, s.id);
	return json(listBody(rows.map(toSnapshotDto), page, total));
});

/**
 * POST /api/v1/sandboxes/{id}/snapshots — sandboxes:write. `{comment?}` (≤ 500 chars) → 201
 * `{data: Snapshot}`: `ready` when the capture finished within a few seconds, else `creating`
 * (poll GET …/snapshots/{sid}; `sandbox.snapshot.ready|failed` events). The sandbox keeps running
 * (frozen only while its writable layer is copied). 409 SNAPSHOT_QUOTA_EXCEEDED over the quota.
 */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, snapshotCreateSchema);
	const row = await createSnapshot(actorOf(ctx), await loadSandbox(ctx), { comment: input.comment ?? input.name });
	return ok(toSnapshotDto(row), 201);
});
