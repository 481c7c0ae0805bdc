// Hooks deployment URLs (`<slug>.<org>.apps.<base>`, `/apps/<org>/<slug>/`) into the raw HTTP
// routes and the WebSocket router; loaded by hooks.server.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureStarted } from '../startup';
import { registerRawHttp } from '../http/raw';
import { registerWsMatcher, rejectUpgrade } from '../ws';
import { matchApp } from './config';

function takeHttp(req: IncomingMessage, res: ServerResponse): boolean {
	const target = matchApp(req.headers.host, req.url);
	if (!target) return false;
	void (async () => {
		await ensureStarted();
		const { handleAppHttp } = await import('./serve');
		await handleAppHttp(req, res, target);
	})().catch((err) => {
		console.error('deployment request failed', err);
		if (!res.headersSent) {
			res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
			res.end('deployment server error');
		} else res.destroy();
	});
	return true;
}

registerRawHttp(takeHttp);

registerWsMatcher((req) => {
	const target = matchApp(req.headers.host, req.url);
	if (!target) return null;
	return async (r, socket, head) => {
		try {
			const { handleAppUpgrade } = await import('./serve');
			await handleAppUpgrade(r, socket, head, target);
		} catch (err) {
			console.error('deployment upgrade failed', err);
			rejectUpgrade(socket, 500, 'deployment proxy error');
		}
	};
});
