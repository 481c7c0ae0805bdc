import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { eventsAfter } from '$lib/server/events/service';
import { eventFrame, typeMatcher } from '$lib/server/events/stream';

/** GET /api/v1/events?after=&limit=&types=&resource_id= — events:read. Oldest first; `{data, next_cursor}`. */
export const GET = api({ scope: 'events:read' }, async ({ principal, url }) => {
	const q = parseQuery(url, z.object({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(500).default(100), types: z.string().optional(), resource_id: z.string().optional() }));
	const matches = typeMatcher(q.types);
	const rows = (await eventsAfter(principal.organizationId, q.after, { resourceId: q.resource_id, limit: q.limit })).filter((e) => matches(e.type));
	return json({ data: rows.map(eventFrame), next_cursor: rows.length ? String(rows[rows.length - 1].id) : null });
});
