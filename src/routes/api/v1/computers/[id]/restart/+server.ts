import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { computerDto, restartComputer } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/** POST /api/v1/computers/{id}/restart — computers:write (no body) → bare Computer. */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const c = await loadComputer(ctx);
	return json(await computerDto(await restartComputer(actorOf(ctx), c)));
});
