import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { getService, serviceLogs, serviceLogsQuery } from '$lib/server/computers/services';

/**
 * GET /api/v1/computers/{id}/services/{name}/logs?tail=500 — computers:read →
 * `{data:{service_id, name, path, lines:[string], output, truncated}}`: stdout+stderr of every run,
 * each run opened by a `[hangar] service <name>: run <n> started at <ts>` line.
 */
export const GET = api({ scope: 'computers:read' }, async (ctx) => {
	const q = parseQuery(ctx.url, serviceLogsQuery);
	const c = await loadComputer(ctx);
	return ok(await serviceLogs(c, await getService(c, ctx.params.name!), q.tail));
});
