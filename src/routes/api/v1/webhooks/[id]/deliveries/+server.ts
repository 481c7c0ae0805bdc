import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { listDeliveries, toDeliveryDto } from '$lib/server/webhooks/service';

/** GET /api/v1/webhooks/{id}/deliveries?limit=50 — webhooks:read. Newest first, with attempts and outcomes. */
export const GET = api({ scope: 'webhooks:read' }, async ({ principal, params, url }) => {
	const { limit } = parseQuery(url, z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }));
	return json({ data: (await listDeliveries(principal.organizationId, params.id, limit)).map(toDeliveryDto) });
});
