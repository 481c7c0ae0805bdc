import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/sandboxes/{id}/readiness — sandboxes:read. `{ready, status, state}`. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	const ready = s.state === 'running';
	const status = ready ? 'ready' : s.state === 'provisioning' ? 'pending' : s.state;
	return json({ ready, status, state: s.state, ready_at: s.readyAt?.toISOString() ?? null, data: { ready, status, state: s.state } });
});
