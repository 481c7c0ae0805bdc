import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { requireAdmin } from '$lib/server/auth/principal';
import { alertCreateSchema, createAlert, listAlerts, toAlertDto } from '$lib/server/billing/alerts';
import { checkBudgetAlerts } from '$lib/server/billing/meter';

/** GET /api/v1/billing/alerts — usage:read. `{data:[{id, name, period, threshold, spent, triggered, …}]}`. */
export const GET = api({ scope: 'usage:read' }, async ({ principal }) => {
	const rows = await listAlerts(principal.organizationId);
	return json({ data: await Promise.all(rows.map((a) => toAlertDto(a))) });
});

/**
 * POST /api/v1/billing/alerts — owners/admins (keys: billing:write). `{name, threshold (credits),
 * period: day|month}` → 201. When the period's spend reaches the threshold the event
 * `billing.budget_exceeded` fires once per period (webhooks deliver it).
 */
export const POST = api({}, async ({ principal, request }) => {
	requireAdmin(principal, 'billing:write');
	const input = await parseBody(request, alertCreateSchema);
	const row = await createAlert(principal.organizationId, input);
	await checkBudgetAlerts(new Date(), [principal.organizationId]);
	return json({ data: await toAlertDto(row) }, 201);
});
