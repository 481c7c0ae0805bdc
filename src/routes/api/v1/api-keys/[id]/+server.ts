import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseId } from '$lib/server/http/validate';
import { revokeApiKey, toApiKeyDto } from '$lib/server/api-keys/service';
import { audit } from '$lib/server/audit/service';

/** DELETE /api/v1/api-keys/{id} — api_keys:write. Revokes at once → `{data: key}` with status revoked. */
export const DELETE = api({ scope: 'api_keys:write' }, async ({ principal, params, requestId, event }) => {
	const row = await revokeApiKey(principal.organizationId, parseId(params.id));
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'api_key.revoked', category: 'security', resourceType: 'api_key', resourceId: row.id }
	);
	return ok(toApiKeyDto(row));
});
