import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { sandboxUpdateSchema } from '$lib/server/sandboxes/schemas';
import { destroySandbox, toSandboxDto, updateSandbox } from '$lib/server/sandboxes/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/sandboxes/{id} — sandboxes:read. 404 for other organizations' sandboxes. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => ok(toSandboxDto(await loadSandbox(ctx))));

/** PATCH /api/v1/sandboxes/{id} — sandboxes:write. name, slug, tags, metadata, always_on, timeout_sec (restarts the clock), idle_timeout_sec. */
export const PATCH = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, sandboxUpdateSchema);
	return ok(toSandboxDto(await updateSandbox(actorOf(ctx), await loadSandbox(ctx), input)));
});

/** DELETE /api/v1/sandboxes/{id} — sandboxes:write. Destroys it (idempotent) → `{data: Sandbox}` with state destroyed. */
export const DELETE = api({ scope: 'sandboxes:write' }, async (ctx) => ok(toSandboxDto(await destroySandbox(actorOf(ctx), await loadSandbox(ctx)))));
