import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { eventStream, lastEventIdOf } from '$lib/server/events/stream';
import { eventsAfter } from '$lib/server/events/service';
import { loadComputer } from '$lib/server/computers/route-helpers';

/**
 * GET /api/v1/computers/{id}/events — computers:read. JSON `{data:[event]}` of this computer's
 * events after `?after=<id>` (lifecycle, desktop actions with their source, control changes);
 * with `Accept: text/event-stream` (or `?stream=1`) an SSE stream instead.
 */
export const GET = api({ scope: 'computers:read' }, async (ctx) => {
	const c = await loadComputer(ctx);
	if (ctx.url.searchParams.get('stream') === '1' || (ctx.request.headers.get('accept') ?? '').includes('text/event-stream')) {
		return eventStream({ organizationId: c.organizationId, resourceId: c.id, lastEventId: lastEventIdOf(ctx.request, ctx.url), types: ctx.url.searchParams.get('types') });
	}
	const after = Number(ctx.url.searchParams.get('after') ?? 0) || 0;
	const limit = Math.min(500, Number(ctx.url.searchParams.get('limit') ?? 200) || 200);
	return json({ data: await eventsAfter(c.organizationId, after, { resourceId: c.id, limit }) });
});
