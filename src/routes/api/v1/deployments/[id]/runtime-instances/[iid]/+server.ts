import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { getInstance, toInstanceDto } from '$lib/server/deployments/runtime';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/runtime-instances/{instance_id} — deployments:read. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const i = await getInstance(dep.id, ctx.params.iid);
	return ok(toInstanceDto(i));
});
