import { sseResponse } from '../http/sse';
import { eventsAfter, subscribe, type HangarEvent } from './service';

/** `sandbox.*` style globs: `*` matches any run of characters (dots included). */
export function typeMatcher(types: string | null | undefined): (type: string) => boolean {
	const globs = (types ?? '').split(',').map((t) => t.trim()).filter(Boolean);
	if (!globs.length) return () => true;
	const res = globs.map((g) => new RegExp('^' + g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$'));
	return (type) => res.some((r) => r.test(type));
}

export function eventFrame(e: HangarEvent) {
	return {
		...e.data,
		id: String(e.id),
		type: e.type,
		ts: e.ts,
		workspace_id: e.workspace_id,
		resource_type: e.resource_type,
		resource_id: e.resource_id,
		data: e.data
	};
}

/**
 * An SSE stream of an organization's events: replays the durable log after `lastEventId`, then
 * follows live events, with no gap and no duplicate (live events are buffered during the replay).
 */
export function eventStream(opts: { organizationId: string; lastEventId: number | null; resourceId?: string; types?: string | null }): Response {
	const matches = typeMatcher(opts.types);
	const wanted = (e: HangarEvent) =>
		e.organization_id === opts.organizationId && (!opts.resourceId || e.resource_id === opts.resourceId) && matches(e.type);
	return sseResponse(async (sink) => {
		let last = opts.lastEventId ?? 0;
		let replaying = true;
		const buffered: HangarEvent[] = [];
		const send = (e: HangarEvent) => {
			if (e.id <= last) return;
			last = e.id;
			sink.send(eventFrame(e), { event: e.type, id: e.id });
		};
		const unsubscribe = subscribe((e) => {
			if (!wanted(e)) return;
			if (replaying) buffered.push(e);
			else send(e);
		});
		if (opts.lastEventId !== null) {
			for (;;) {
				const batch = await eventsAfter(opts.organizationId, last, { resourceId: opts.resourceId, limit: 500 });
				for (const e of batch) if (matches(e.type)) send(e);
				else last = Math.max(last, e.id);
				if (batch.length < 500 || sink.closed) break;
			}
		}
		replaying = false;
		buffered.sort((a, b) => a.id - b.id).forEach(send);
		buffered.length = 0;
		return unsubscribe;
	});
}

/** Last-Event-ID header, or `last_event_id` / `since` query parameters. */
export function lastEventIdOf(request: Request, url: URL): number | null {
	const raw = request.headers.get('last-event-id') ?? url.searchParams.get('last_event_id') ?? url.searchParams.get('since');
	if (raw === null || raw === '') return null;
	const n = Number(String(raw).replace(/^evt_/, ''));
	return Number.isFinite(n) && n >= 0 ? Math.floor(n) : null;
}
