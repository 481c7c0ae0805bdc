import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { expose } from '$lib/server/previews/service';
import { exposeSchema } from '$lib/server/previews/schemas';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/expose — previews:write. `{port?}` (default: the template's preview
 * port, else 3000; `visibility?`, default public for a new preview) → `{url, preview_url,
 * url_info: {url, class, url_class, stable_for_embedding, recommended_next_action, port, …},
 * data: {…same}}`. Reuses the port's preview when there is one.
 */
export const POST = api({ scope: 'previews:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, exposeSchema);
	const out = await expose(actorOf(ctx), await loadSandbox(ctx), input, ctx.url);
	return json({ ...out, data: out });
});
