import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { versionListQuery } from '$lib/server/deployments/schemas';
import { listVersions, versionDtos } from '$lib/server/deployments/service';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/**
 * GET /api/v1/deployments/{id}/versions — deployments:read. `?state&environment&workspace_id&
 * external_workspace_id&limit (≤100, default 20)&cursor` → `{data: Version[], next_cursor}`,
 * newest first (cursor pagination).
 */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const { rows, nextCursor } = await listVersions(dep, parseQuery(ctx.url, versionListQuery));
	return json({ data: await versionDtos(dep, rows), next_cursor: nextCursor });
});
