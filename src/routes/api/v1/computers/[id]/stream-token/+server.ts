import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { requireRunning } from '$lib/server/computers/service';
import { issueStreamToken, streamTokenSchema } from '$lib/server/computers/tickets';
import { loadComputer } from '$lib/server/computers/route-helpers';

/**
 * POST /api/v1/computers/{id}/stream-token — computers:read. `{read_only?, expires_in? (s, default
 * 3600, max 86400)}` → 201 `{token, url (/embed/computers/{id}?ticket=…), ws_url, expires_at, read_only}`
 * (also under `data`). Single-use. 409 COMPUTER_NOT_RUNNING unless active.
 */
export const POST = api({ scope: 'computers:read' }, async (ctx) => {
	const input = await parseBody(ctx.request, streamTokenSchema);
	const c = await loadComputer(ctx);
	await requireRunning(c);
	const t = await issueStreamToken(ctx.principal, c, ctx.url.origin, input);
	return json({ ...t, data: t }, 201);
});
