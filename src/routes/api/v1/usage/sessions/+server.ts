import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { listSessions, periodOf, periodQuery, toSegmentDto } from '$lib/server/billing/usage';

/**
 * GET /api/v1/usage/sessions — usage:read. Usage segments (a resource running at one size, or
 * storage held) overlapping a period (default 30d): filters `resource_id` (alias `computer_id`,
 * `sandbox_id`), `resource_type`; `limit` (max 500) and `cursor`. `{data:[segment], next_cursor}`.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, url }) => {
	const q = parseQuery(
		url,
		periodQuery
			.extend({
				resource_id: z.string().optional(),
				computer_id: z.string().optional(),
				sandbox_id: z.string().optional(),
				resource_type: z.string().optional(),
				limit: z.coerce.number().int().min(1).max(500).default(100),
				cursor: z.string().uuid().optional()
			})
			.passthrough()
	);
	const p = periodOf(q, '30d');
	const rows = await listSessions(principal.organizationId, { resource_id: q.resource_id ?? q.sandbox_id ?? q.computer_id, resource_type: q.resource_type, from: p.from, to: p.to }, q.cursor ?? null, q.limit);
	return json({ data: rows.map(toSegmentDto), next_cursor: rows.length === q.limit ? rows[rows.length - 1].id : null });
});
