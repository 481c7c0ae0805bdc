import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { balanceDto, verifyBalance } from '$lib/server/billing/ledger';

/**
 * GET /api/v1/credits/balance — usage:read. Bare (as the SDK reads it): `{balance, expires_at,
 * balance_credits, credit_expiry_at, lifetime_earned, lifetime_spent, lifetime_expired,
 * balance_micro, exhausted, updated_at, …}` in credits. `?verify=true` recomputes the balance
 * from the ledger and adds `{verified: {consistent, cached_micro, ledger_micro, transactions}}`.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, url }) => {
	const body: Record<string, unknown> = await balanceDto(principal.organizationId);
	if (url.searchParams.get('verify') === 'true') {
		const v = await verifyBalance(principal.organizationId);
		body.verified = { consistent: v.consistent, cached_micro: v.cachedMicro, ledger_micro: v.ledgerMicro, transactions: v.transactions };
	}
	return json(body);
});
