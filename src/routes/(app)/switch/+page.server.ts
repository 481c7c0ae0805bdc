import { redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { ORG_COOKIE } from '$lib/server/auth/cookies';
import { organizationsOf } from '$lib/server/accounts/service';
import { getWorkspace } from '$lib/server/workspaces/service';
import { isUuid } from '$lib/server/http/validate';
import { requirePrincipal, safePath, WORKSPACE_COOKIE } from '../dashboard.server';

const YEAR = 365 * 86_400;
const cookieOptions = (secure: boolean) => ({ path: '/', httpOnly: true, sameSite: 'lax' as const, secure, maxAge: YEAR });

export const load: PageServerLoad = () => redirect(303, '/');

/** Paths inside another organization's resources make no sense after a switch: keep the section. */
function sectionOf(path: string): string {
	const keep: string[] = [];
	for (const segment of path.split('?')[0].split('/').filter(Boolean)) {
		if (isUuid(segment)) break;
		keep.push(segment);
	}
	return `/${keep.join('/')}`;
}

export const actions: Actions = {
	/** Top-bar organization switcher: acts in another organization the person belongs to. */
	org: async (event) => {
		requirePrincipal(event);
		const data = await event.request.formData();
		const id = String(data.get('organization_id') ?? '');
		const orgs = await organizationsOf(event.locals.user!.id);
		if (orgs.some((o) => o.id === id)) {
			event.cookies.set(ORG_COOKIE, id, cookieOptions(event.url.protocol === 'https:'));
			event.cookies.delete(WORKSPACE_COOKIE, { path: '/' });
		}
		redirect(303, sectionOf(safePath(data.get('redirect_to'), '/sandboxes')));
	},

	/** Top-bar workspace switcher: the default workspace of pages that create things. */
	workspace: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const id = String(data.get('workspace_id') ?? '');
		if (isUuid(id)) {
			try {
				await getWorkspace(principal.organizationId, id);
				event.cookies.set(WORKSPACE_COOKIE, id, cookieOptions(event.url.protocol === 'https:'));
			} catch {
				// Not in this organization: keep the current choice.
			}
		}
		const back = safePath(data.get('redirect_to'), '/workspaces');
		// On a workspace's own page, follow the switch to the newly picked workspace.
		redirect(303, /^\/workspaces\/[0-9a-f-]{36}/i.test(back) && isUuid(id) ? `/workspaces/${id}` : back);
	}
};
