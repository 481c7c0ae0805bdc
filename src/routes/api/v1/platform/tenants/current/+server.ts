import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { getOrganization } from '$lib/server/accounts/service';

/** GET /api/v1/platform/tenants/current — the caller's organization (tenant), unwrapped. */
export const GET = api({}, async ({ principal }) => {
	const org = (await getOrganization(principal.organizationId))!;
	return json({ id: org.id, name: org.name, slug: org.slug, created_at: org.createdAt.toISOString(), setup_complete: true });
});
