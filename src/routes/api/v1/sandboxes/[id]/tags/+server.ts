import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { toSandboxDto, updateSandbox } from '$lib/server/sandboxes/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** PATCH /api/v1/sandboxes/{id}/tags — sandboxes:write. `{tags}` replaces the tags. */
export const PATCH = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const { tags } = await parseBody(ctx.request, z.object({ tags: z.array(z.string().trim().min(1).max(64)).max(50) }));
	return ok(toSandboxDto(await updateSandbox(actorOf(ctx), await loadSandbox(ctx), { tags })));
});
export const PUT = PATCH;
