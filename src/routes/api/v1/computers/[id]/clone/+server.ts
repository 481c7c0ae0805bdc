import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { cloneComputer, cloneSchema, computerDto } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/computers/{id}/clone — computers:write. `{name?, metadata?}` → 201 `{data: Computer}`
 * (the new computer: a copy of the source's files, size, screen, apps and services). 409
 * COMPUTER_NOT_RUNNING unless the source is active.
 */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, cloneSchema);
	const c = await loadComputer(ctx);
	return json({ data: await computerDto(await cloneComputer(actorOf(ctx), c, input)) }, 201);
});
