import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { promoteSchema } from '$lib/server/deployments/schemas';
import { getRelease, getVersion, promoteVersion, toDeploymentDto, viewOf } from '$lib/server/deployments/service';
import { loadDeployment, paramOf } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/** POST /api/v1/deployments/{id}/releases/{release_id}/promote — deployments:write. Promotes the release's version. */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, promoteSchema);
	const dep = await loadDeployment(ctx);
	const rel = await getRelease(ctx.principal.organizationId, paramOf(ctx, 'rid', 'release id'), dep.id);
	const row = await promoteVersion(actorOf(ctx), dep, await getVersion(dep, rel.versionId), input.environment ?? 'production');
	return ok(toDeploymentDto(await viewOf(row), ctx.url));
});
