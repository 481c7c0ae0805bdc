import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { liveText } from '$lib/server/deployments/logs';
import { loadVersion } from '$lib/server/deployments/route-helpers';

/**
 * GET /api/v1/deployments/{id}/versions/{version_id}/logs — deployments:read. The build log so far
 * `{data: {version_id, build_id, state, log}}`; `?format=text` answers text/plain.
 */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const { version } = await loadVersion(ctx);
	const log = liveText(version.id) ?? version.buildLog;
	if (ctx.url.searchParams.get('format') === 'text') {
		return new Response(log, { headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
	}
	return ok({ version_id: version.id, build_id: version.buildId, state: version.state, log });
});
