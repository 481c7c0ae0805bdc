import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { deleteWebhook, getWebhook, toWebhookDto, updateWebhook, webhookUpdateSchema } from '$lib/server/webhooks/service';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/webhooks/{id} — webhooks:read. */
export const GET = api({ scope: 'webhooks:read' }, async ({ principal, params }) => ok(toWebhookDto(await getWebhook(principal.organizationId, params.id))));

/** PATCH /api/v1/webhooks/{id} — webhooks:write. url, events, description, active, max_retries. */
export const PATCH = api({ scope: 'webhooks:write' }, async ({ principal, params, request, requestId, event }) => {
	const input = await parseBody(request, webhookUpdateSchema);
	const row = await updateWebhook(principal.organizationId, params.id, input);
	await audit({ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip }, { action: 'webhook.updated', resourceType: 'webhook', resourceId: row.id });
	return ok(toWebhookDto(row));
});

/** DELETE /api/v1/webhooks/{id} — webhooks:write. */
export const DELETE = api({ scope: 'webhooks:write' }, async ({ principal, params, requestId, event }) => {
	const row = await deleteWebhook(principal.organizationId, params.id);
	await audit({ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip }, { action: 'webhook.deleted', category: 'security', resourceType: 'webhook', resourceId: row.id });
	return ok({ ...toWebhookDto(row), deleted: true });
});
