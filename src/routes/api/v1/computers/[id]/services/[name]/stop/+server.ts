import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { getService, stopService, toServiceDto } from '$lib/server/computers/services';

/** POST /api/v1/computers/{id}/services/{name}/stop — computers:write (no body) → `{data: Service}`. */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const c = await loadComputer(ctx);
	return ok(toServiceDto(await stopService(c, await getService(c, ctx.params.name!))));
});
