import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseId } from '$lib/server/http/validate';
import { requireAdmin } from '$lib/server/auth/principal';
import { ApiError } from '$lib/server/http/errors';
import { getHost, revokeHost, toHostDto } from '$lib/server/hosts/service';
import { hub, isConnected } from '$lib/server/hosts/connections';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/hosts/{id} — hosts:read. */
export const GET = api({ scope: 'hosts:read' }, async ({ principal, params }) => {
	const h = await getHost(principal.organizationId, parseId(params.id));
	return ok(toHostDto(h, isConnected(h.id)));
});

/** DELETE /api/v1/hosts/{id} — owners/admins of the host's organization (shared hosts: instance admins). Revokes its key. */
export const DELETE = api({ scope: 'hosts:write' }, async ({ principal, params, requestId, event }) => {
	requireAdmin(principal, 'hosts:write');
	const h = await getHost(principal.organizationId, parseId(params.id));
	if (h.organizationId === null && !principal.isInstanceAdmin) throw new ApiError(403, 'FORBIDDEN', 'only instance administrators manage shared hosts');
	await revokeHost(h.id);
	hub.disconnect(h.id, 'host key revoked');
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'host.revoked', category: 'security', resourceType: 'host', resourceId: h.id }
	);
	return ok({ ...toHostDto({ ...h, status: 'revoked' }, false) });
});
