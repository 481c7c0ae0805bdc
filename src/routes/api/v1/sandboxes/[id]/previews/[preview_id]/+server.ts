import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { deletePreview, getPreview, toPreviewDto } from '$lib/server/previews/service';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/sandboxes/{id}/previews/{preview_id} — sandboxes:read. */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	return ok(toPreviewDto(await getPreview(s, ctx.params.preview_id), ctx.url));
});

/** DELETE /api/v1/sandboxes/{id}/previews/{preview_id} — previews:write. Revokes its share tokens too. */
export const DELETE = api({ scope: 'previews:write' }, async (ctx) => {
	const s = await loadSandbox(ctx);
	const p = await getPreview(s, ctx.params.preview_id);
	return ok(toPreviewDto(await deletePreview(actorOf(ctx), s, p), ctx.url));
});
