import { redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { loginSchema, verifyCredentials } from '$lib/server/accounts/service';
import { ORG_COOKIE } from '$lib/server/auth/cookies';
import { userPrincipal } from '$lib/server/auth/principal';
import { audit } from '$lib/server/audit/service';
import { checkRate } from '$lib/server/http/rate-limit';
import { ApiError } from '$lib/server/http/errors';
import { env } from '$lib/server/env';
import { actorOf, failure, invalid, parseForm, safePath } from '../../(app)/dashboard.server';
import { startSession } from '../session.server';

export const load: PageServerLoad = ({ locals, url }) => {
	if (locals.user) redirect(303, safePath(url.searchParams.get('redirectTo'), '/sandboxes'));
	return { redirectTo: safePath(url.searchParams.get('redirectTo'), '') };
};

export const actions: Actions = {
	default: async (event) => {
		const data = await event.request.formData();
		const email = String(data.get('email') ?? '');
		const redirectTo = safePath(data.get('redirect_to'), '/sandboxes');
		const parsed = parseForm(loginSchema, { email, password: String(data.get('password') ?? '') });
		if (!parsed.ok) return invalid('login', parsed.fieldErrors, { email });

		try {
			checkRate(`login:${event.locals.ip}:${parsed.data.email}`, env.HANGAR_LOGIN_RATE_LIMIT);
			checkRate(`login-ip:${event.locals.ip}`, env.HANGAR_LOGIN_RATE_LIMIT * 10);
		} catch (err) {
			if (!(err instanceof ApiError) || err.status !== 429) throw err;
			const seconds = (err.details as { retry_after?: number } | undefined)?.retry_after ?? 60;
			return failure(429, 'login', `Too many attempts, try again in ${seconds} s.`, { email });
		}

		const user = await verifyCredentials(parsed.data.email, parsed.data.password);
		if (!user) return failure(400, 'login', 'Wrong email or password.', { email });

		await startSession(event, user.id);
		const principal = await userPrincipal(user, event.cookies.get(ORG_COOKIE) ?? null)
			.catch(() => userPrincipal(user, null))
			.catch(() => null);
		if (principal) {
			await audit(actorOf(event, principal), { action: 'user.logged_in', category: 'auth', resourceType: 'user', resourceId: user.id });
		}
		redirect(303, redirectTo);
	}
};
