import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { promoteSchema } from '$lib/server/deployments/schemas';
import { promoteVersion, toDeploymentDto, viewOf } from '$lib/server/deployments/service';
import { loadVersion } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/deployments/{id}/versions/{version_id}/promote — deployments:write (Idempotency-Key).
 * `{environment? = production}` → `{data: Deployment}`. 409 VERSION_NOT_READY, 410 ARTIFACT_GONE.
 */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, promoteSchema);
	const { dep, version } = await loadVersion(ctx);
	const row = await promoteVersion(actorOf(ctx), dep, version, input.environment ?? 'production');
	return ok(toDeploymentDto(await viewOf(row), ctx.url));
});
