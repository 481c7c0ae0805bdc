import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { requireAdmin } from '$lib/server/auth/principal';
import { createHost, hostCreateSchema, toHostDto, visibleHosts } from '$lib/server/hosts/service';
import { isConnected } from '$lib/server/hosts/connections';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/hosts — hosts:read. The instance's shared hosts and the organization's own. */
export const GET = api({ scope: 'hosts:read' }, async ({ principal }) => {
	const rows = await visibleHosts(principal.organizationId);
	return json({ data: rows.map((h) => toHostDto(h, isConnected(h.id))) });
});

/**
 * POST /api/v1/hosts — owners/admins (keys: hosts:write). `{name, region?, labels?}` → 201 with
 * `key` (hk_…, shown once) for the agent. Instance admins register shared hosts with `shared: true`;
 * otherwise the host serves only this organization (bring your own machine).
 */
export const POST = api({ scope: 'hosts:write' }, async ({ principal, request, requestId, event }) => {
	requireAdmin(principal, 'hosts:write');
	const body = await parseBody(request, hostCreateSchema.extend({ shared: z.boolean().optional() }));
	const shared = body.shared === true && principal.isInstanceAdmin;
	const { row, key } = await createHost({ ...body, organizationId: shared ? null : principal.organizationId });
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'host.created', category: 'security', resourceType: 'host', resourceId: row.id, metadata: { shared } }
	);
	return json({ data: { ...toHostDto(row, false), key } }, 201);
});
