import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { listBody, readPage } from '$lib/server/http/pagination';
import { apiKeyCreateSchema, createApiKey, listApiKeys, toApiKeyDto } from '$lib/server/api-keys/service';
import { audit } from '$lib/server/audit/service';
import { hasScope } from '$lib/server/auth/scopes';
import { ApiError } from '$lib/server/http/errors';

/** GET /api/v1/api-keys — api_keys:read. The organization's active keys (never the plaintext). */
export const GET = api({ scope: 'api_keys:read' }, async ({ principal, url }) => {
	const page = readPage(url);
	const { rows, total } = await listApiKeys(principal.organizationId, page, url.searchParams.get('include_revoked') === 'true');
	return json(listBody(rows.map(toApiKeyDto), page, total));
});

/**
 * POST /api/v1/api-keys — api_keys:write. `{name, scopes?, expires_at?|expires_in_seconds?, rate_limit_rpm?}`
 * → 201 `{data: {…key, key, token}}`; the plaintext appears only in this answer. A key cannot
 * grant scopes its creator lacks.
 */
export const POST = api({ scope: 'api_keys:write' }, async ({ principal, request, requestId, event }) => {
	const input = await parseBody(request, apiKeyCreateSchema);
	const scopes = input.scopes ?? (principal.kind === 'api_key' ? [...principal.scopes] : ['*']);
	for (const s of scopes) {
		if (s === '*' ? !principal.scopes.includes('*') : !hasScope(principal.scopes, s as never)) {
			throw new ApiError(403, 'insufficient_scope', `cannot grant a scope this credential lacks: ${s}`);
		}
	}
	const { row, plaintext } = await createApiKey(principal.organizationId, principal.userId, { ...input, scopes: scopes as typeof input.scopes });
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'api_key.created', category: 'security', resourceType: 'api_key', resourceId: row.id, metadata: { name: row.name, scopes: row.scopes } }
	);
	return json({ data: { ...toApiKeyDto(row), key: plaintext, token: plaintext } }, 201);
});
