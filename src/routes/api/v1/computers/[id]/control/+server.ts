import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { controlSchema, setControl } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

const view = (c: { controlHolder: string; controlBy: string | null; controlSince: Date | null; id: string }) => ({
	computer_id: c.id,
	holder: c.controlHolder,
	by: c.controlBy,
	since: c.controlSince?.toISOString() ?? null
});

/** GET /api/v1/computers/{id}/control — computers:read → `{holder: 'agent'|'user', by, since}`. */
export const GET = api({ scope: 'computers:read' }, async (ctx) => json(view(await loadComputer(ctx))));

/**
 * POST /api/v1/computers/{id}/control `{holder}` — computers:write. 'user': a person takes over
 * (API desktop input then answers 409); 'agent': hands back. Events computer.control.taken/returned.
 */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const { holder } = await parseBody(ctx.request, controlSchema);
	return json(view(await setControl(actorOf(ctx), await loadComputer(ctx), holder)));
});
