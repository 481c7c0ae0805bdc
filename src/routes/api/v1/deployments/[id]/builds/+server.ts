import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { versionListQuery } from '$lib/server/deployments/schemas';
import { listVersions, toBuildDto } from '$lib/server/deployments/service';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/builds — deployments:read. One build per version, newest first (`limit`, `cursor`). */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const { rows, nextCursor } = await listVersions(dep, parseQuery(ctx.url, versionListQuery));
	return json({ data: rows.map(toBuildDto), next_cursor: nextCursor });
});
