import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { periodOf, usageQuery, usageTotals } from '$lib/server/billing/usage';

/**
 * GET /api/v1/usage/summary — usage:read. Totals for a period (default month to date) with the
 * same filters as /usage: `{data:{period_start, period_end, vcpu_seconds, …, credits}}`.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, url }) => {
	const q = parseQuery(url, usageQuery.passthrough());
	const p = periodOf(q, 'mtd');
	const t = await usageTotals(principal.organizationId, p.from, p.to, q);
	return json({ data: { period_start: p.from.toISOString(), period_end: p.to.toISOString(), ...t } });
});
