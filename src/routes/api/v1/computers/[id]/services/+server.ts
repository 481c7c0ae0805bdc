import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { createService, listServices, serviceCreateSchema, toServiceDto } from '$lib/server/computers/services';

/** GET /api/v1/computers/{id}/services — computers:read → `{data:[Service]}`. */
export const GET = api({ scope: 'computers:read' }, async (ctx) => ok((await listServices(await loadComputer(ctx))).map(toServiceDto)));

/**
 * POST /api/v1/computers/{id}/services — computers:write. `{name ([a-z][a-z0-9-]{0,62}), command,
 * env?, cwd? (default /home/user), restart? (always | on-failure (default) | no | never),
 * max_restarts? (default 10), backoff_ms? (default 1000)}` → 201 `{data: Service}` (started).
 * 409 CONFLICT on a duplicate name, 409 COMPUTER_NOT_RUNNING unless the computer is active.
 */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, serviceCreateSchema);
	const c = await loadComputer(ctx);
	return ok(toServiceDto(await createService(c, input)), 201);
});
