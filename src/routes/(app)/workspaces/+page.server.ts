import type { Actions, PageServerLoad } from './$types';
import { listProjects, listWorkspaces } from '$lib/server/workspaces/service';
import { pageOf, requirePrincipal } from '../dashboard.server';
import { createWorkspaceAction, deleteWorkspaceAction, renameWorkspaceAction } from './actions.server';

export const load: PageServerLoad = async (event) => {
	const principal = requirePrincipal(event);
	const page = pageOf(event.url);
	const { rows, total } = await listWorkspaces(principal.organizationId, page);
	const projectCounts = await Promise.all(
		rows.map((w) => listProjects(principal.organizationId, { page: 1, pageSize: 1, offset: 0 }, { workspace_id: w.id }).then((r) => r.total))
	);
	return {
		workspaces: rows.map((w, i) => ({
			id: w.id,
			name: w.name,
			slug: w.slug,
			description: w.description,
			isDefault: w.isDefault,
			projects: projectCounts[i],
			createdAt: w.createdAt.toISOString()
		})),
		total,
		page: page.page,
		pageSize: page.pageSize
	};
};

export const actions: Actions = {
	create: createWorkspaceAction,
	rename: renameWorkspaceAction,
	delete: (event) => deleteWorkspaceAction(event)
};
