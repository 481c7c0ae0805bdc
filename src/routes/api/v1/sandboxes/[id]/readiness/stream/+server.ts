import { api } from '$lib/server/http/handler';
import { sseResponse } from '$lib/server/http/sse';
import { subscribe } from '$lib/server/events/service';
import { getSandbox } from '$lib/server/sandboxes/service';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

const TIMEOUT_MS = 120_000;

/** GET /api/v1/sandboxes/{id}/readiness/stream — sandboxes:read. SSE: `event: ready` once running, `event: timeout` after 120 s. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	return sseResponse(async (sink) => {
		const done = (event: 'ready' | 'timeout' | 'failed', state: string) => {
			sink.send({ ready: event === 'ready', status: event, state, sandbox_id: s.id }, { event });
			sink.close();
		};
		const unsubscribe = subscribe((e) => {
			if (e.resource_id !== s.id) return;
			if (e.type === 'sandbox.started') done('ready', 'running');
			else if (e.type === 'sandbox.error' || e.type === 'sandbox.destroyed') done('failed', String(e.data.state));
		});
		// Check after subscribing so a transition in between is not missed.
		const now = await getSandbox(s.organizationId, s.id);
		if (now.state === 'running') done('ready', 'running');
		else if (now.state !== 'provisioning') done('failed', now.state);
		const t = setTimeout(() => done('timeout', 'provisioning'), TIMEOUT_MS);
		return () => {
			clearTimeout(t);
			unsubscribe();
		};
	});
});
