import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseId } from '$lib/server/http/validate';
import { requireAdmin } from '$lib/server/auth/principal';
import { ApiError } from '$lib/server/http/errors';
import { getHost, setDraining, toHostDto } from '$lib/server/hosts/service';
import { isConnected } from '$lib/server/hosts/connections';
import { audit } from '$lib/server/audit/service';

/** POST /api/v1/hosts/{id}/drain — hosts:write, admins. No new sandboxes are placed on it; running ones keep running. */
export const POST = api({ scope: 'hosts:write' }, async ({ principal, params, requestId, event }) => {
	requireAdmin(principal, 'hosts:write');
	const h = await getHost(principal.organizationId, parseId(params.id));
	if (h.organizationId === null && !principal.isInstanceAdmin) throw new ApiError(403, 'FORBIDDEN', 'only instance administrators manage shared hosts');
	const row = await setDraining(h.id, true);
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'host.drained', resourceType: 'host', resourceId: h.id }
	);
	return ok(toHostDto(row, isConnected(row.id)));
});
