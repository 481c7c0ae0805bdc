import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { requireRunning } from '$lib/server/computers/service';
import { issueStreamToken } from '$lib/server/computers/tickets';
import { loadComputer } from '$lib/server/computers/route-helpers';

/** GET /api/v1/computers/{id}/embed[?read_only=true] — computers:read → `{url, token, expires_at}` (a fresh 1 h stream token). */
export const GET = api({ scope: 'computers:read' }, async (ctx) => {
	const c = await loadComputer(ctx);
	await requireRunning(c);
	const t = await issueStreamToken(ctx.principal, c, ctx.url.origin, { read_only: ctx.url.searchParams.get('read_only') === 'true' });
	return json({ ...t, data: t });
});
