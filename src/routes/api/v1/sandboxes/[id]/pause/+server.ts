import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { pauseSandbox, toSandboxDto } from '$lib/server/sandboxes/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** POST /api/v1/sandboxes/{id}/pause — sandboxes:write. Freezes its processes, memory kept. 409 unless running. */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => ok(toSandboxDto(await pauseSandbox(actorOf(ctx), await loadSandbox(ctx)))));
