import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { versionDtos } from '$lib/server/deployments/service';
import { loadVersion } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/versions/{version_id} — deployments:read. The full version (id or number). */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const { dep, version } = await loadVersion(ctx);
	return ok((await versionDtos(dep, [version]))[0]);
});
