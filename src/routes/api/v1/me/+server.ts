import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { getOrganization, getUser, organizationsOf, toUserDto } from '$lib/server/accounts/service';

/** GET /api/v1/me — the caller: user (if a person), organization, role, scopes. */
export const GET = api({}, async ({ principal }) => {
	const user = principal.userId && principal.kind === 'user' ? await getUser(principal.userId) : null;
	const org = await getOrganization(principal.organizationId);
	return ok({
		kind: principal.kind,
		user: user ? toUserDto(user) : null,
		organization: org && { id: org.id, name: org.name, slug: org.slug },
		organizations: user ? await organizationsOf(user.id) : [],
		role: principal.role,
		scopes: principal.scopes
	});
});
