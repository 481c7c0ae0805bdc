import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody, parseId } from '$lib/server/http/validate';
import { deleteWorkspace, getWorkspace, toWorkspaceDto, updateWorkspace, workspaceUpdateSchema } from '$lib/server/workspaces/service';
import { audit } from '$lib/server/audit/service';

/** GET /api/v1/workspaces/{id} — workspaces:read. 404 for other organizations' workspaces. */
export const GET = api({ scope: 'workspaces:read' }, async ({ principal, params }) =>
	ok(toWorkspaceDto(await getWorkspace(principal.organizationId, parseId(params.id))))
);

/** PATCH /api/v1/workspaces/{id} — workspaces:write. Partial update (name, slug, description, external id, metadata). */
export const PATCH = api({ scope: 'workspaces:write' }, async ({ principal, params, request, requestId, event }) => {
	const id = parseId(params.id);
	const input = await parseBody(request, workspaceUpdateSchema);
	const w = await updateWorkspace(principal.organizationId, id, input);
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'workspace.updated', resourceType: 'workspace', resourceId: id, workspaceId: id, metadata: { fields: Object.keys(input) } }
	);
	return ok(toWorkspaceDto(w));
});

/** DELETE /api/v1/workspaces/{id} — workspaces:write. Deletes it and its projects; 409 for the default workspace. */
export const DELETE = api({ scope: 'workspaces:write' }, async ({ principal, params, requestId, event }) => {
	const w = await deleteWorkspace(principal.organizationId, parseId(params.id));
	await audit(
		{ principal, organizationId: principal.organizationId, requestId, ip: event.locals.ip },
		{ action: 'workspace.deleted', resourceType: 'workspace', resourceId: w.id }
	);
	return ok({ ...toWorkspaceDto(w), deleted: true });
});
