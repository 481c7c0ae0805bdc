import { redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { invalidateSession } from '$lib/server/auth/session';
import { clearSessionCookie } from '$lib/server/auth/cookies';
import { audit } from '$lib/server/audit/service';
import { actorOf } from '../../(app)/dashboard.server';

// Logging out is a POST (the user menu's form); a GET only sends people home.
export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
	default: async (event) => {
		const { session, principal, user } = event.locals;
		if (session) {
			await invalidateSession(session.id);
			if (principal && user) {
				await audit(actorOf(event, principal), { action: 'user.logged_out', category: 'auth', resourceType: 'user', resourceId: user.id });
			}
		}
		clearSessionCookie(event);
		redirect(303, '/login');
	}
};
