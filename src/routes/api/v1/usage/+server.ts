import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { parseGroupBy, periodOf, rollup, usageQuery } from '$lib/server/billing/usage';

/**
 * GET /api/v1/usage — usage:read. Usage rollup: `group_by` one or two (comma) of workspace,
 * project, external_workspace_id, external_user_id (default), external_project_id,
 * resource_type, day, dimension; `period` 7d | 30d (default) | mtd | custom (`from`/`to`, or
 * `start`/`end`); filters workspace_id, project_id, external_*, resource_type, resource_id.
 * Bare `{period_start, period_end, group_by, results:[{<key>, vcpu_seconds, memory_gb_seconds,
 * sandbox_seconds, computer_seconds, storage_gb_hours, credits, credits_micro, credit_cents}]}`,
 * sorted by credits (desc), or by day when grouped by day first.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, url }) => {
	const q = parseQuery(url, usageQuery.passthrough());
	const groupBy = parseGroupBy(q.group_by);
	const p = periodOf(q, '30d');
	const results = await rollup(principal.organizationId, groupBy, p.from, p.to, q);
	return json({ period_start: p.from.toISOString(), period_end: p.to.toISOString(), group_by: groupBy.join(','), results });
});
