import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { computerDto, resizeComputer, resizeSchema } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/computers/{id}/resize — computers:write. `{size: xs|small|medium|large|xl|xlarge}`
 * → bare Computer with the new size. A live computer moves to a new sandbox of that size with its
 * files (processes and the desktop session restart; services are started again).
 */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, resizeSchema);
	const c = await loadComputer(ctx);
	return json(await computerDto(await resizeComputer(actorOf(ctx), c, input.size)));
});
