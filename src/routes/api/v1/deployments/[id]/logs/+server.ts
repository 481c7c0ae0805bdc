import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { instanceLogs, listInstances } from '$lib/server/deployments/runtime';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/**
 * GET /api/v1/deployments/{id}/logs?lines=100 — deployments:read. Output of the app in its live
 * runtime instances (dynamic versions): `{data: {deployment_id, logs: [{runtime_instance_id,
 * version_id, lines}]}}`. Build logs are per version (…/versions/{v}/logs).
 */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const lines = Math.min(1000, Math.max(1, Number(ctx.url.searchParams.get('lines') ?? 100) || 100));
	const out = [];
	for (const i of await listInstances(dep.id)) out.push({ runtime_instance_id: i.id, version_id: i.versionId, lines: await instanceLogs(i, lines) });
	return ok({ deployment_id: dep.id, logs: out });
});
