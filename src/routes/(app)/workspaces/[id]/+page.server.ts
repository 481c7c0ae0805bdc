import { error } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { getWorkspace, listProjects } from '$lib/server/workspaces/service';
import { ApiError } from '$lib/server/http/errors';
import { isUuid } from '$lib/server/http/validate';
import { pageOf, requirePrincipal } from '../../dashboard.server';
import {
	createProjectAction,
	deleteProjectAction,
	deleteWorkspaceAction,
	renameProjectAction,
	renameWorkspaceAction
} from '../actions.server';

export const load: PageServerLoad = async (event) => {
	const principal = requirePrincipal(event);
	const id = event.params.id;
	if (!isUuid(id)) error(404, 'Workspace not found');
	const workspace = await getWorkspace(principal.organizationId, id).catch((err) => {
		if (err instanceof ApiError && err.status === 404) error(404, 'Workspace not found');
		throw err;
	});
	const page = pageOf(event.url);
	const { rows, total } = await listProjects(principal.organizationId, page, { workspace_id: id });
	return {
		workspace: {
			id: workspace.id,
			name: workspace.name,
			slug: workspace.slug,
			description: workspace.description,
			isDefault: workspace.isDefault,
			externalId: workspace.externalWorkspaceId,
			createdAt: workspace.createdAt.toISOString()
		},
		projects: rows.map(({ project: p }) => ({
			id: p.id,
			name: p.name,
			slug: p.slug,
			description: p.description,
			isDefault: p.isDefault,
			createdAt: p.createdAt.toISOString()
		})),
		total,
		page: page.page,
		pageSize: page.pageSize
	};
};

export const actions: Actions = {
	rename: renameWorkspaceAction,
	delete: (event) => deleteWorkspaceAction(event, '/workspaces'),
	createProject: createProjectAction,
	renameProject: renameProjectAction,
	deleteProject: deleteProjectAction
};
