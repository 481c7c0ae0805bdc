import { api } from '$lib/server/http/handler';
import { streamBuildLog } from '$lib/server/deployments/log-stream';
import { loadVersion } from '$lib/server/deployments/route-helpers';

/**
 * GET /api/v1/deployments/{id}/versions/{version_id}/logs/stream — deployments:read (Bearer or
 * `?ticket=`). SSE: the log so far, then live `event: log` `{line}` frames while it builds,
 * `event: state` `{state}` on changes, and `event: done` `{state, error}` when the build ended.
 */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const { version } = await loadVersion(ctx);
	return streamBuildLog(version.id);
});
