import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { deleteService, getService, toServiceDto } from '$lib/server/computers/services';

/** GET /api/v1/computers/{id}/services/{name} (name or id) — computers:read → `{data: Service}`. */
export const GET = api({ scope: 'computers:read' }, async (ctx) => {
	const c = await loadComputer(ctx);
	return ok(toServiceDto(await getService(c, ctx.params.name!)));
});

/** DELETE /api/v1/computers/{id}/services/{name} — stops the run and removes the service → `{data:{id, name, deleted}}`. */
export const DELETE = api({ scope: 'computers:write' }, async (ctx) => {
	const c = await loadComputer(ctx);
	const s = await getService(c, ctx.params.name!);
	await deleteService(c, s);
	return ok({ id: s.id, name: s.name, deleted: true });
});
