import { api } from '$lib/server/http/handler';
import { ApiError } from '$lib/server/http/errors';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { mintToken } from '$lib/server/previews/service';
import { previewTokenSchema } from '$lib/server/previews/schemas';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/preview-token — previews:write. `{expires_in? (≤ 86400, default
 * 3600), scope?: read|interact (default read), port?}` → `{token: "mp_…", url (?mt=), expires_at,
 * scope}` (unwrapped, as documented; the same object under `data` too). `read` allows GET/HEAD only.
 */
export const POST = api({ scope: 'previews:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, previewTokenSchema);
	if (input.scope !== undefined && input.scope !== 'read' && input.scope !== 'interact') {
		throw new ApiError(422, 'invalid_scope', 'scope must be read or interact', { fields: { scope: ['read or interact'] } });
	}
	const out = mintToken(await loadSandbox(ctx), { expires_in: input.expires_in, scope: input.scope as 'read' | 'interact' | undefined, port: input.port }, ctx.url);
	return json({ ...out, data: out });
});
