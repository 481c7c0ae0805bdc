import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { releaseOf, toReleaseDto } from '$lib/server/deployments/service';
import { loadVersion } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/versions/{version_id}/release — deployments:read. The version's release. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const { version } = await loadVersion(ctx);
	return ok(toReleaseDto(await releaseOf(version)));
});
