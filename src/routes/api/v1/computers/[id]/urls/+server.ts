import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { loadComputer } from '$lib/server/computers/route-helpers';

/** GET /api/v1/computers/{id}/urls — computers:read → named URLs (dashboard, API, stream endpoints). */
export const GET = api({ scope: 'computers:read' }, async (ctx) => {
	const c = await loadComputer(ctx);
	const o = ctx.url.origin;
	const urls = {
		dashboard: `${o}/computers/${c.id}`,
		api: `${o}/api/v1/computers/${c.id}`,
		screenshot: `${o}/api/v1/computers/${c.id}/desktop/screenshot`,
		stream_token: `${o}/api/v1/computers/${c.id}/stream-token`,
		vnc_websocket: `${o.replace(/^http/, 'ws')}/ws/desktop?ticket=<stream token>`
	};
	return json({ ...urls, data: urls });
});
