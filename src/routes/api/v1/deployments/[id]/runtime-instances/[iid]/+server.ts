import { api } from '$lib/server/http/handler';
import { notFound } from '$lib/server/http/errors';
import { ok } from '$lib/server/http/respond';
import { listInstances, toInstanceDto } from '$lib/server/deployments/runtime';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/runtime-instances/{instance_id} — deployments:read. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const i = (await listInstances(dep.id, true)).find((x) => x.id === ctx.params.iid);
	if (!i) throw notFound('runtime instance');
	return ok(toInstanceDto(i));
});
