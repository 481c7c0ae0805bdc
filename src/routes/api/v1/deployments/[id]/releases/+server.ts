import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { listReleases, toReleaseDto } from '$lib/server/deployments/service';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/releases — deployments:read. `{data: Release[], releases: Release[]}`, newest first. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const rows = (await listReleases(await loadDeployment(ctx))).map(toReleaseDto);
	return json({ data: rows, releases: rows });
});
