import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody, parseId, parseQuery } from '$lib/server/http/validate';
import { deploymentCreateSchema, deploymentListQuery } from '$lib/server/deployments/schemas';
import { createDeployment, listDeployments, toDeploymentDto, viewOf, viewsOf } from '$lib/server/deployments/service';
import { actorOf } from '$lib/server/sandboxes/route-helpers';
import { getProject } from '$lib/server/workspaces/service';

/** GET /api/v1/projects/{project_id}/deployments — deployments:read. The project's deployments. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const p = await getProject(ctx.principal.organizationId, parseId(ctx.params.id, 'project id'));
	const q = parseQuery(ctx.url, deploymentListQuery);
	const { rows, nextCursor } = await listDeployments(ctx.principal.organizationId, { ...q, project_id: p.project.id });
	return json({ data: (await viewsOf(rows)).map((v) => toDeploymentDto(v, ctx.url)), next_cursor: nextCursor });
});

/** POST /api/v1/projects/{project_id}/deployments — deployments:write. Creates a deployment in the project. */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const p = await getProject(ctx.principal.organizationId, parseId(ctx.params.id, 'project id'));
	const input = await parseBody(ctx.request, deploymentCreateSchema);
	const row = await createDeployment(actorOf(ctx), { ...input, project_id: p.project.id, workspace_id: p.project.workspaceId });
	return ok(toDeploymentDto(await viewOf(row), ctx.url), 201);
});
