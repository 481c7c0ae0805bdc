import { api } from '$lib/server/http/handler';
import { eventStream, lastEventIdOf } from '$lib/server/events/stream';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/events — deployments:read (Bearer or `?ticket=`). SSE of this deployment's events. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	return eventStream({ organizationId: dep.organizationId, resourceId: dep.id, lastEventId: lastEventIdOf(ctx.request, ctx.url), types: ctx.url.searchParams.get('types') });
});
