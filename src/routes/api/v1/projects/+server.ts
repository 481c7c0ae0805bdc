import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody, parseQuery } from '$lib/server/http/validate';
import { listBody, readPage } from '$lib/server/http/pagination';
import { createProject, listProjects, projectCreateSchema, toProjectDto } from '$lib/server/workspaces/service';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/projects?workspace_id=&external_project_id= — workspaces:read. `{data, page, total}`. */
export const GET = api({ scope: 'workspaces:read' }, async ({ principal, url }) => {
	const page = readPage(url);
	const q = parseQuery(url, z.object({ workspace_id: z.string().uuid().optional(), external_project_id: z.string().optional() }).passthrough());
	const { rows, total } = await listProjects(principal.organizationId, page, q);
	return json({ ...listBody(rows.map((r) => toProjectDto(r.project, r.workspace)), page, total), total });
});

/** POST /api/v1/projects — workspaces:write. Needs workspace_id | workspace_slug | external_workspace_id, and name. → 201. */
export const POST = api({ scope: 'workspaces:write' }, async ({ principal, request, requestId, event }) => {
	const input = await parseBody(request, projectCreateSchema);
	const { project, workspace } = await createProject(principal.organizationId, input);
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'project.created', resourceType: 'project', resourceId: project.id, workspaceId: workspace.id }
	);
	return ok(toProjectDto(project, workspace), 201);
});
