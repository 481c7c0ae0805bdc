import { redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { signUp, signupSchema } from '$lib/server/accounts/service';
import { ORG_COOKIE } from '$lib/server/auth/cookies';
import { userPrincipal } from '$lib/server/auth/principal';
import { audit } from '$lib/server/audit/service';
import { checkRate } from '$lib/server/http/rate-limit';
import { failFrom, invalid, parseForm, text } from '../../(app)/dashboard.server';
import { startSession } from '../session.server';

export const load: PageServerLoad = ({ locals }) => {
	if (locals.user) redirect(303, '/sandboxes');
};

export const actions: Actions = {
	default: async (event) => {
		const data = await event.request.formData();
		const values = {
			name: text(data, 'name') ?? '',
			email: text(data, 'email') ?? '',
			organization_name: text(data, 'organization_name') ?? ''
		};
		const parsed = parseForm(signupSchema, {
			email: values.email,
			password: String(data.get('password') ?? ''),
			name: text(data, 'name'),
			organization_name: text(data, 'organization_name')
		});
		if (!parsed.ok) return invalid('signup', parsed.fieldErrors, values);

		let created;
		try {
			checkRate(`signup:${event.locals.ip}`, 30);
			created = await signUp(parsed.data);
		} catch (err) {
			return failFrom(err, 'signup', values);
		}
		const { user, organizationId } = created;
		await startSession(event, user.id);
		event.cookies.set(ORG_COOKIE, organizationId, {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			secure: event.url.protocol === 'https:',
			maxAge: 365 * 86_400
		});
		const principal = await userPrincipal(user, organizationId).catch(() => null);
		await audit(
			{ organizationId, requestId: event.locals.requestId, ip: event.locals.ip, principal },
			{ action: 'user.signed_up', category: 'auth', resourceType: 'user', resourceId: user.id }
		);
		redirect(303, '/sandboxes');
	}
};
