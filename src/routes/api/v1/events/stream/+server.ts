import { api } from '$lib/server/http/handler';
import { eventStream, lastEventIdOf } from '$lib/server/events/stream';

/**
 * GET /api/v1/events/stream?types=sandbox.*,… — events:read (Bearer or single-use `?ticket=sset_…`).
 * SSE of the organization's events with monotonic ids; `Last-Event-ID` resumes from the durable
 * log (7 days); `: heartbeat` every 15 s.
 */
export const GET = api({ scope: 'events:read' }, async ({ principal, request, url }) =>
	eventStream({ organizationId: principal.organizationId, lastEventId: lastEventIdOf(request, url), types: url.searchParams.get('types') })
);
