import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { getPreview, revokeShares, sharePreview } from '$lib/server/previews/service';
import { shareSchema } from '$lib/server/previews/schemas';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/previews/{preview_id}/share — previews:write. `{ttl_seconds?}`
 * (default 3600, 60 s – 30 d) → 201 `{data: {id, share_token_prefix, share_token_expires_at, …},
 * preview_token: "miosa_pv_…", share_url}`. The raw token is shown once.
 */
export const POST = api({ scope: 'previews:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, shareSchema);
	const s = await loadSandbox(ctx);
	const p = await getPreview(s, ctx.params.preview_id);
	return json(await sharePreview(actorOf(ctx), s, p, input.ttl_seconds ?? 3600, ctx.url), 201);
});

/** DELETE /api/v1/sandboxes/{id}/previews/{preview_id}/share — previews:write. Revokes every share token → `{data: {id, revoked}}`. */
export const DELETE = api({ scope: 'previews:write' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	const p = await getPreview(s, ctx.params.preview_id);
	return ok({ id: p.id, revoked: await revokeShares(actorOf(ctx), s, p) });
});
