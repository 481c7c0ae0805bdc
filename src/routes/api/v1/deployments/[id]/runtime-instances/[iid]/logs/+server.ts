import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { getInstance, instanceLogs } from '$lib/server/deployments/runtime';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/runtime-instances/{instance_id}/logs?lines=100 — deployments:read. `{logs (text), lines[], runtime_instance_id, deployment_id}` (also under `data`). */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const i = await getInstance(dep.id, ctx.params.iid);
	const lines = Math.min(1000, Math.max(1, Number(ctx.url.searchParams.get('lines') ?? 100) || 100));
	const out = await instanceLogs(i, lines);
	const body = { logs: out.join('\n'), lines: out, runtime_instance_id: i.id, deployment_id: dep.id };
	return json({ data: body, ...body });
});
