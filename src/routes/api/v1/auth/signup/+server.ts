import { publicApi } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { checkRate } from '$lib/server/http/rate-limit';
import { env } from '$lib/server/env';
import { signUp, signupSchema, toUserDto, getOrganization } from '$lib/server/accounts/service';
import { createBearerToken } from '$lib/server/auth/session';
import { userPrincipal } from '$lib/server/auth/principal';
import { audit } from '$lib/server/audit/service';

/**
 * POST /api/v1/auth/signup — public. `{email, password, name?, organization_name?}` →
 * 201 `{data: {user, organization, token, expires_at}}`. 403 SIGNUP_CLOSED, 422 VALIDATION_ERROR.
 */
export const POST = publicApi(async (event) => {
	checkRate(`signup:${event.locals.ip}`, env.HANGAR_SIGNUP_RATE_LIMIT);
	const input = await parseBody(event.request, signupSchema);
	const { user, organizationId } = await signUp(input);
	const org = await getOrganization(organizationId);
	const { token, expiresAt } = await createBearerToken(user.id);
	await audit(
		{ organizationId, requestId: event.locals.requestId, ip: event.locals.ip, principal: await userPrincipal(user, organizationId) },
		{ action: 'user.signed_up', category: 'auth', resourceType: 'user', resourceId: user.id }
	);
	return json(
		{
			data: {
				user: toUserDto(user),
				organization: { id: org!.id, name: org!.name, slug: org!.slug },
				token,
				expires_at: expiresAt.toISOString()
			}
		},
		201
	);
});
