import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { listBody, readPage } from '$lib/server/http/pagination';
import { listSnapshots, snapshotQuota, snapshotUsage, toSnapshotDto } from '$lib/server/snapshots/service';

/** GET /api/v1/snapshots — sandboxes:read. Every snapshot of the organization (incl. those of destroyed sandboxes) with quota usage. */
export const GET = api({ scope: 'sandboxes:read' }, async ({ principal, url }) => {
	const page = readPage(url);
	const { rows, total } = await listSnapshots(principal.organizationId, page);
	const q = snapshotQuota();
	const u = await snapshotUsage(principal.organizationId);
	return json({ ...listBody(rows.map(toSnapshotDto), page, total), quota: { max_count: q.maxCount, max_bytes: q.maxBytes, count: u.count, bytes: u.bytes } });
});
