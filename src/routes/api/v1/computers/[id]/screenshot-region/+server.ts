import { api } from '$lib/server/http/handler';
import { readJson } from '$lib/server/http/validate';
import { handleDesktop } from '$lib/server/computers/desktop-routes';
import { loadComputer } from '$lib/server/computers/route-helpers';

/** POST /api/v1/computers/{id}/screenshot-region `{x,y,width,height}` — PNG bytes (TS SDK path). */
export const POST = api({ scope: 'computers:read', rateClass: 'exec' }, async (ctx) => {
	const c = await loadComputer(ctx);
	return handleDesktop(c, 'POST', 'screenshot/region', (await readJson(ctx.request)) as Record<string, unknown>, ctx.url);
});
