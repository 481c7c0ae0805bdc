import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody, parseId } from '$lib/server/http/validate';
import { deleteProject, getProject, projectUpdateSchema, toProjectDto, updateProject } from '$lib/server/workspaces/service';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/projects/{id} — workspaces:read. */
export const GET = api({ scope: 'workspaces:read' }, async ({ principal, params }) => {
	const { project, workspace } = await getProject(principal.organizationId, parseId(params.id));
	return ok(toProjectDto(project, workspace));
});

/** PATCH /api/v1/projects/{id} — workspaces:write. */
export const PATCH = api({ scope: 'workspaces:write' }, async ({ principal, params, request, requestId, event }) => {
	const id = parseId(params.id);
	const input = await parseBody(request, projectUpdateSchema);
	const { project, workspace } = await updateProject(principal.organizationId, id, input);
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'project.updated', resourceType: 'project', resourceId: id, workspaceId: workspace.id }
	);
	return ok(toProjectDto(project, workspace));
});

/** DELETE /api/v1/projects/{id} — workspaces:write. 409 for a workspace's default project. */
export const DELETE = api({ scope: 'workspaces:write' }, async ({ principal, params, requestId, event }) => {
	const p = await deleteProject(principal.organizationId, parseId(params.id));
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'project.deleted', resourceType: 'project', resourceId: p.id, workspaceId: p.workspaceId }
	);
	return ok({ ...toProjectDto(p), deleted: true });
});
