import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { getService, startService, toServiceDto } from '$lib/server/computers/services';

/** POST /api/v1/computers/{id}/services/{name}/start — computers:write (no body) → `{data: Service}`. */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const c = await loadComputer(ctx);
	return ok(toServiceDto(await startService(c, await getService(c, ctx.params.name!))));
});
