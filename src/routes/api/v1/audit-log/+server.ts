import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { requireAdmin } from '$lib/server/auth/principal';
import { listAudit } from '$lib/server/audit/service';

const query = z.object({
	after: z.coerce.number().int().positive().optional(),
	limit: z.coerce.number().int().min(1).max(100).default(50),
	type: z.string().optional(),
	actor_id: z.string().optional(),
	resource_type: z.string().optional(),
	resource_id: z.string().optional(),
	category: z.string().optional()
});

/** GET /api/v1/audit-log — owners/admins, or keys with audit:read. Cursor pagination: `{data, next_cursor}` with `after`. */
export const GET = api({}, async ({ principal, url }) => {
	requireAdmin(principal, 'audit:read');
	const q = parseQuery(url, query);
	return json(
		await listAudit(principal.organizationId, {
			after: q.after,
			limit: q.limit,
			type: q.type,
			actorId: q.actor_id,
			resourceType: q.resource_type,
			resourceId: q.resource_id,
			category: q.category
		})
	);
});
