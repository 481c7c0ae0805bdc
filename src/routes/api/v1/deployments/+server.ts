import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody, parseQuery } from '$lib/server/http/validate';
import { deploymentCreateSchema, deploymentListQuery } from '$lib/server/deployments/schemas';
import { createDeployment, listDeployments, toDeploymentDto, viewOf, viewsOf } from '$lib/server/deployments/service';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * GET /api/v1/deployments — deployments:read. `?project_id&workspace_id&state&external_*&limit&cursor`
 * → `{data: Deployment[], next_cursor}`, newest first.
 */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const q = parseQuery(ctx.url, deploymentListQuery);
	const { rows, nextCursor } = await listDeployments(ctx.principal.organizationId, q);
	const views = await viewsOf(rows);
	return json({ data: views.map((v) => toDeploymentDto(v, ctx.url)), next_cursor: nextCursor });
});

/**
 * POST /api/v1/deployments — deployments:write. `{name, slug?, kind?, build_command?, install_command?,
 * run_command?, port?, health_check_path?, output_path?, exclude?, spa?, metadata?, …ownership}`
 * → 201 `{data: Deployment}` (state `pending` until its first publish).
 */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, deploymentCreateSchema);
	const row = await createDeployment(actorOf(ctx), input);
	return ok(toDeploymentDto(await viewOf(row), ctx.url), 201);
});
