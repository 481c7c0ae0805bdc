import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody, parseQuery } from '$lib/server/http/validate';
import { listBody, readPage } from '$lib/server/http/pagination';
import { createWorkspace, listWorkspaces, toWorkspaceDto, workspaceCreateSchema } from '$lib/server/workspaces/service';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/workspaces — workspaces:read. Paginated; filter `external_workspace_id`. */
export const GET = api({ scope: 'workspaces:read' }, async ({ principal, url }) => {
	const page = readPage(url);
	const q = parseQuery(url, z.object({ external_workspace_id: z.string().optional() }).passthrough());
	const { rows, total } = await listWorkspaces(principal.organizationId, page, q);
	return json(listBody(rows.map(toWorkspaceDto), page, total));
});

/** POST /api/v1/workspaces — workspaces:write. `{name, slug?, description?, external_workspace_id?, metadata?}` → 201. 409 on a taken slug. */
export const POST = api({ scope: 'workspaces:write' }, async ({ principal, request, requestId, event }) => {
	const input = await parseBody(request, workspaceCreateSchema);
	const w = await createWorkspace(principal.organizationId, input);
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'workspace.created', resourceType: 'workspace', resourceId: w.id, workspaceId: w.id }
	);
	return ok(toWorkspaceDto(w), 201);
});
