import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody, parseValue } from '$lib/server/http/validate';
import { requireAdmin } from '$lib/server/auth/principal';
import { audit } from '$lib/server/audit/service';
import { deleteQuota, externalUserIdSchema, getQuota, putQuota, quotaSchema, quotaUsage, toQuotaDto } from '$lib/server/billing/quotas';
import { notFound } from '$lib/server/http/errors';

const userOf = (params: Record<string, string>) => parseValue(decodeURIComponent(params.external_user_id ?? ''), externalUserIdSchema, 'invalid external_user_id');

/**
 * GET /api/v1/quotas/external/{external_user_id} — usage:read. `{data:{external_user_id,
 * limits:{max_sandboxes, max_concurrent, max_storage_gb, max_credit_cents, max_credits},
 * usage:{total_sandboxes, concurrent, storage_gb, credit_cents, credits}, configured}}`; limits
 * are null (no cap) when no quota is set.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, params }) => {
	const ext = userOf(params);
	const [q, usage] = await Promise.all([getQuota(principal.organizationId, ext), quotaUsage(principal.organizationId, ext)]);
	return json({ data: toQuotaDto(ext, q, usage) });
});

/**
 * PUT — owners/admins (keys: billing:write). Replaces the quota: `{max_sandboxes, max_concurrent,
 * max_storage_gb, max_credit_cents | max_credits}` (omitted or null = no cap). Enforced when
 * sandboxes are created with this `external_user_id`: 409 QUOTA_EXCEEDED (sandboxes, concurrency,
 * storage) or 402 QUOTA_EXCEEDED (credit spend).
 */
export const PUT = api({}, async ({ principal, params, request, requestId, event }) => {
	requireAdmin(principal, 'billing:write');
	const ext = userOf(params);
	const input = await parseBody(request, quotaSchema);
	const q = await putQuota(principal.organizationId, ext, input);
	await audit({ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip }, { action: 'quota.updated', resourceType: 'quota', resourceId: q.id, metadata: { external_user_id: ext } });
	return json({ data: toQuotaDto(ext, q, await quotaUsage(principal.organizationId, ext)) });
});

/** DELETE — owners/admins (keys: billing:write). Removes the quota (no caps) → 204; 404 if none. */
export const DELETE = api({}, async ({ principal, params, requestId, event }) => {
	requireAdmin(principal, 'billing:write');
	const ext = userOf(params);
	if (!(await deleteQuota(principal.organizationId, ext))) throw notFound('quota');
	await audit({ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip }, { action: 'quota.deleted', resourceType: 'quota', metadata: { external_user_id: ext } });
	return new Response(null, { status: 204 });
});
