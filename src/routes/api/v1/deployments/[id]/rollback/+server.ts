import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { rollbackSchema } from '$lib/server/deployments/schemas';
import { rollback, toDeploymentDto, viewOf } from '$lib/server/deployments/service';
import { loadDeployment } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/deployments/{id}/rollback — deployments:write (Idempotency-Key recommended).
 * `{version_id?, environment? = production}`: points the environment at that version, or at the
 * one it served before. Nothing is rebuilt; a dynamic version gets a healthy runtime first.
 * → `{data: Deployment}`; 409 VERSION_NOT_READY for a version that never built; 410
 * ARTIFACT_GONE when its artifact was collected after the retention period.
 */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, rollbackSchema);
	const row = await rollback(actorOf(ctx), await loadDeployment(ctx), input);
	return ok(toDeploymentDto(await viewOf(row), ctx.url));
});
