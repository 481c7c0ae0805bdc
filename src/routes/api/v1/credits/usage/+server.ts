import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { creditsUsage, periodOf, periodQuery } from '$lib/server/billing/usage';

/**
 * GET /api/v1/credits/usage — usage:read. Credits used in a period (default month to date;
 * `period=7d|30d|mtd|custom` with `from`/`to`). Bare `{period_start, period_end, compute_credits,
 * ai_credits, total_credits, storage_credits, total_credits_micro, vcpu_seconds, …}`.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, url }) => {
	const p = periodOf(parseQuery(url, periodQuery.passthrough()), 'mtd');
	return json(await creditsUsage(principal.organizationId, p.from, p.to));
});
