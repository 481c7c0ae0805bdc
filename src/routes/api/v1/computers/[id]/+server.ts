import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { computerDto, computerUpdateSchema, deleteComputer, updateComputer } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/computers/{id} — computers:read → bare Computer. */
export const GET = api({ scope: 'computers:read' }, async (ctx) => json(await computerDto(await loadComputer(ctx))));

const update = api({ scope: 'computers:write' }, async (ctx) => {
	const c = await loadComputer(ctx);
	const input = await parseBody(ctx.request, computerUpdateSchema);
	return json(await computerDto(await updateComputer(actorOf(ctx), c, input)));
});
/** PATCH/PUT /api/v1/computers/{id} `{name?, visibility?, metadata?}` → bare Computer. */
export const PATCH = update;
export const PUT = update;

/** DELETE /api/v1/computers/{id} — destroys its sandbox → bare Computer (status destroyed). */
export const DELETE = api({ scope: 'computers:write' }, async (ctx) => {
	const c = await loadComputer(ctx);
	return json(await computerDto(await deleteComputer(actorOf(ctx), c)));
});
