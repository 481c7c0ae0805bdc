import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { MAX_TIMEOUT_SEC } from '$lib/server/sandboxes/schemas';
import { extendSandbox, toSandboxDto } from '$lib/server/sandboxes/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** POST /api/v1/sandboxes/{id}/extend — sandboxes:write. `{timeout_sec?}`: the deadline becomes now + timeout_sec. */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const { timeout_sec } = await parseBody(ctx.request, z.object({ timeout_sec: z.number().int().min(1).max(MAX_TIMEOUT_SEC).optional() }));
	return ok(toSandboxDto(await extendSandbox(actorOf(ctx), await loadSandbox(ctx), timeout_sec)));
});
