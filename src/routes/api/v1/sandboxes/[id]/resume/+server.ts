import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { resumeSandbox, toSandboxDto } from '$lib/server/sandboxes/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** POST /api/v1/sandboxes/{id}/resume — sandboxes:write. Thaws a paused sandbox (deadline renewed if it had passed). */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => ok(toSandboxDto(await resumeSandbox(actorOf(ctx), await loadSandbox(ctx)))));
