import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { getRelease, toReleaseDto } from '$lib/server/deployments/service';
import { paramOf } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/releases/{id} — deployments:read. A release (the built artifact of a version). */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => ok(toReleaseDto(await getRelease(ctx.principal.organizationId, paramOf(ctx, 'id', 'release id')))));
