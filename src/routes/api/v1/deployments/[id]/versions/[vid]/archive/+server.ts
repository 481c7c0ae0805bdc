import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { archiveVersion, versionDtos } from '$lib/server/deployments/service';
import { loadVersion } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/deployments/{id}/versions/{version_id}/archive — deployments:write. Archives a
 * version no environment serves (one-way); its artifact is kept for the retention period
 * (HANGAR_DEPLOY_ARTIFACT_RETENTION_DAYS, default 30), then collected.
 */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const { dep, version } = await loadVersion(ctx);
	const row = await archiveVersion(actorOf(ctx), dep, version);
	return ok((await versionDtos(dep, [row]))[0]);
});
