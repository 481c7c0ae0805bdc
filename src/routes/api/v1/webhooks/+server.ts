import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { createWebhook, listWebhooks, toWebhookDto, webhookCreateSchema } from '$lib/server/webhooks/service';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/webhooks — webhooks:read. */
export const GET = api({ scope: 'webhooks:read' }, async ({ principal }) => json({ data: (await listWebhooks(principal.organizationId)).map(toWebhookDto) }));

/**
 * POST /api/v1/webhooks — webhooks:write. `{url, events: ["sandbox.*", …], description?, max_retries? (0–10, default 3)}`
 * → 201 `{data: {…, secret}}`; the `sk_live_` signing secret is shown once.
 */
export const POST = api({ scope: 'webhooks:write' }, async ({ principal, request, requestId, event }) => {
	const input = await parseBody(request, webhookCreateSchema);
	const { row, secret } = await createWebhook(principal.organizationId, input);
	await audit({ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip }, { action: 'webhook.created', category: 'security', resourceType: 'webhook', resourceId: row.id });
	return json({ data: { ...toWebhookDto(row), secret } }, 201);
});
