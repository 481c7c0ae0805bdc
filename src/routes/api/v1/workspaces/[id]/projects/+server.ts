import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseId } from '$lib/server/http/validate';
import { listBody, readPage } from '$lib/server/http/pagination';
import { getWorkspace, listProjects, toProjectDto } from '$lib/server/workspaces/service';

/** GET /api/v1/workspaces/{id}/projects — workspaces:read. */
export const GET = api({ scope: 'workspaces:read' }, async ({ principal, params, url }) => {
	const ws = await getWorkspace(principal.organizationId, parseId(params.id));
	const page = readPage(url);
	const { rows, total } = await listProjects(principal.organizationId, page, { workspace_id: ws.id });
	return json({ ...listBody(rows.map((r) => toProjectDto(r.project, r.workspace)), page, total), total });
});
