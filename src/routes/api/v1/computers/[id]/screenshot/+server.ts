import { api } from '$lib/server/http/handler';
import { handleDesktop } from '$lib/server/computers/desktop-routes';
import { loadComputer } from '$lib/server/computers/route-helpers';

/** GET /api/v1/computers/{id}/screenshot[?x&y&width&height] — PNG (the Elixir SDK's path). */
export const GET = api({ scope: 'computers:read', rateClass: 'exec' }, async (ctx) => {
	const c = await loadComputer(ctx);
	const region = ['x', 'y', 'width', 'height'].every((k) => ctx.url.searchParams.has(k));
	return handleDesktop(c, 'GET', region ? 'screenshot/region' : 'screenshot', {}, ctx.url);
});
