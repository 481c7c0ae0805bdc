import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { setControl } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/** POST /api/v1/computers/{id}/hand-back — computers:write; same as POST /control {holder:'agent'}. */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const c = await setControl(actorOf(ctx), await loadComputer(ctx), 'agent');
	return json({ computer_id: c.id, holder: c.controlHolder, by: c.controlBy, since: c.controlSince?.toISOString() ?? null });
});
