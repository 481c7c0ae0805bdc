import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { getWebhook, sendTest, toDeliveryDto } from '$lib/server/webhooks/service';

/** POST /api/v1/webhooks/{id}/test — webhooks:write. Sends a signed `webhook.test` event → 202 with the delivery. */
export const POST = api({ scope: 'webhooks:write' }, async ({ principal, params }) => {
	const row = await sendTest(await getWebhook(principal.organizationId, params.id));
	return ok(row ? toDeliveryDto(row) : null, 202);
});
