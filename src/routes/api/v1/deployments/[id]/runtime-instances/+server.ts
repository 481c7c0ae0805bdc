import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { listInstances, toInstanceDto } from '$lib/server/deployments/runtime';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/runtime-instances?all=1 — deployments:read. Live instances (all=1: stopped too). */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const rows = (await listInstances(dep.id, ctx.url.searchParams.get('all') === '1')).map(toInstanceDto);
	return json({ data: rows, runtime_instances: rows });
});
