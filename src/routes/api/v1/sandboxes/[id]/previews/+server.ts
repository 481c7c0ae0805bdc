import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { createPreview, listPreviews, toPreviewDto } from '$lib/server/previews/service';
import { previewCreateSchema } from '$lib/server/previews/schemas';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/sandboxes/{id}/previews — sandboxes:read. `{data: Preview[]}` (live ones). */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const rows = await listPreviews(await loadSandbox(ctx));
	return json({ data: rows.map((p) => toPreviewDto(p, ctx.url)) });
});

/**
 * POST /api/v1/sandboxes/{id}/previews — previews:write. `{port, visibility?: private|public}`
 * (default private) → 201 `{data: Preview}`; an existing preview of the port is returned (200),
 * with its visibility updated when given. `sandbox.preview.ready` follows once the port answers.
 */
export const POST = api({ scope: 'previews:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, previewCreateSchema);
	const { row, created } = await createPreview(actorOf(ctx), await loadSandbox(ctx), input, ctx.url);
	return ok(toPreviewDto(row, ctx.url), created ? 201 : 200);
});
