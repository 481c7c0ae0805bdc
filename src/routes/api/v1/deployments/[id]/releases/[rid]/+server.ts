import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { getRelease, toReleaseDto } from '$lib/server/deployments/service';
import { loadDeployment, paramOf } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/releases/{release_id} — deployments:read. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	return ok(toReleaseDto(await getRelease(ctx.principal.organizationId, paramOf(ctx, 'rid', 'release id'), dep.id)));
});
