import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { listRecords, periodOf, usageQuery } from '$lib/server/billing/usage';

/**
 * GET /api/v1/usage/records — usage:read. The raw per-minute usage records (for reconciliation),
 * oldest first: same period and filters as /usage, `limit` (max 1000, default 500) and `cursor`.
 * `{data:[{id, segment_id, resource_type, resource_id, dimension, minute, quantity, quantity_milli,
 * credits, credits_micro, workspace_id, project_id, external_*}], next_cursor}`.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, url }) => {
	const q = parseQuery(url, usageQuery.extend({ cursor: z.string().regex(/^\d+$/).optional() }).passthrough());
	const p = periodOf(q, '30d');
	const limit = q.limit ?? 500;
	const data = await listRecords(principal.organizationId, p.from, p.to, q, Number(q.cursor ?? 0), limit);
	return json({ data, next_cursor: data.length === limit ? data[data.length - 1].id : null });
});
