import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { addCredits, grantSchema } from '$lib/server/billing/credits';
import { toTransactionDto } from '$lib/server/billing/ledger';
import { toCredits } from '$lib/server/billing/math';

/**
 * POST /api/v1/credits/grants — people only. Body `{amount (credits) | set_balance, kind:
 * grant|purchase|adjustment, organization_id?, description?, reference?, expires_at? | expires_in_days?}`.
 * Instance administrators: any kind, any organization. Organization owners: `purchase` (credits
 * bought elsewhere) for their own organization, or a negative adjustment. → 201 `{data:
 * transaction, balance, balance_micro}` (200 when `reference` was already used).
 */
export const POST = api({}, async ({ principal, request, requestId, event }) => {
	const input = await parseBody(request, grantSchema);
	const r = await addCredits({ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip }, input);
	return json({ data: toTransactionDto(r.txn), balance: toCredits(r.balanceMicro), balance_micro: r.balanceMicro }, r.created ? 201 : 200);
});
