import { api } from '$lib/server/http/handler';
import { readJson } from '$lib/server/http/validate';
import { handleDesktop } from '$lib/server/computers/desktop-routes';
import { loadComputer } from '$lib/server/computers/route-helpers';

/**
 * /api/v1/computers/{id}/desktop/* — screenshot (PNG; `?format=base64` for JSON), screenshot/region,
 * click, double-click, right-click, move, mouse-down/up, drag, scroll, type, key, hotkey,
 * key-down/up, clipboard (GET/POST), cursor, screen-size, windows, window/{focus,close,minimize,
 * maximize,size,position}, launch, wait, environment. 409 COMPUTER_NOT_RUNNING unless active; 409
 * CONFLICT for input while a person holds control; 422 for coordinates off the screen.
 */
const handler = (scope: 'computers:read' | 'computers:write') =>
	api({ scope, rateClass: 'exec' }, async (ctx) => {
		const c = await loadComputer(ctx);
		const body = ctx.request.method === 'GET' ? {} : ((await readJson(ctx.request)) as Record<string, unknown>) ?? {};
		return handleDesktop(c, ctx.request.method, ctx.params.path ?? '', body && typeof body === 'object' ? body : {}, ctx.url);
	});

export const GET = handler('computers:read');
export const POST = handler('computers:write');
export const PUT = handler('computers:write');
