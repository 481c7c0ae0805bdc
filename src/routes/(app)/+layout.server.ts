import type { LayoutServerLoad } from './$types';
import { organizationsOf } from '$lib/server/accounts/service';
import { listWorkspaces } from '$lib/server/workspaces/service';
import { requirePrincipal, WORKSPACE_COOKIE } from './dashboard.server';

/** The signed-in shell: who, which organization, which workspace. Signed-out people go to /login. */
export const load: LayoutServerLoad = async (event) => {
	const principal = requirePrincipal(event);
	const user = event.locals.user!;
	const [organizations, workspaces] = await Promise.all([
		organizationsOf(user.id),
		listWorkspaces(principal.organizationId, { page: 1, pageSize: 100, offset: 0 })
	]);
	const picked = event.cookies.get(WORKSPACE_COOKIE);
	const current = workspaces.rows.find((w) => w.id === picked) ?? workspaces.rows.find((w) => w.isDefault) ?? workspaces.rows[0] ?? null;
	return {
		user: { id: user.id, email: user.email, name: user.name, isInstanceAdmin: user.isInstanceAdmin },
		organizations,
		organizationId: principal.organizationId,
		role: principal.role,
		workspaces: workspaces.rows.map((w) => ({ id: w.id, name: w.name, slug: w.slug, isDefault: w.isDefault })),
		currentWorkspaceId: current?.id ?? null
	};
};
