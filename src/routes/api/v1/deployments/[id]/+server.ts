import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { deploymentUpdateSchema } from '$lib/server/deployments/schemas';
import { deleteDeployment, toDeploymentDto, updateDeployment, viewOf } from '$lib/server/deployments/service';
import { loadDeployment } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/deployments/{id} — deployments:read. `{id}` is the `dep_…` id or the slug. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => ok(toDeploymentDto(await viewOf(await loadDeployment(ctx)), ctx.url)));

/** PATCH /api/v1/deployments/{id} — deployments:write. Name, metadata and the build/runtime defaults of the next publishes. */
export const PATCH = api({ scope: 'deployments:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, deploymentUpdateSchema);
	const row = await updateDeployment(actorOf(ctx), await loadDeployment(ctx), input);
	return ok(toDeploymentDto(await viewOf(row), ctx.url));
});

/**
 * DELETE /api/v1/deployments/{id} — deployments:write. Its URLs stop answering at once, runtimes
 * stop, versions are archived (their artifacts are collected after the retention period).
 */
export const DELETE = api({ scope: 'deployments:write' }, async (ctx) => {
	const row = await deleteDeployment(actorOf(ctx), await loadDeployment(ctx));
	return ok(toDeploymentDto(await viewOf(row), ctx.url));
});
