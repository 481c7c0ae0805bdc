import { api } from '$lib/server/http/handler';
import { eventStream, lastEventIdOf } from '$lib/server/events/stream';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * GET /api/v1/sandboxes/{id}/events — sandboxes:read (Bearer or `?ticket=sset_…`). SSE of this
 * sandbox's events (state changes, exec, processes, files…), resumable with Last-Event-ID;
 * `?types=` filters; `?since=0` replays the whole retained history.
 */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	return eventStream({ organizationId: s.organizationId, resourceId: s.id, lastEventId: lastEventIdOf(ctx.request, ctx.url), types: ctx.url.searchParams.get('types') });
});
