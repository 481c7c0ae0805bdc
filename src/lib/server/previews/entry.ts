// Hooks the preview proxy into the HTTP server before SvelteKit (raw Node request/response, so
// bodies stream in both directions with no size limit) and into the WebSocket router.
//
// server.js (and the vite dev plugin) call `globalThis[Symbol.for('hangar.preview.http')](req, res)`
// for every request; it answers true when the request is a preview request and it took it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureStarted } from '../startup';
import { registerWsMatcher, rejectUpgrade } from '../ws';
import { matchPreview } from './config';

const HTTP_KEY = Symbol.for('hangar.preview.http');

function takeHttp(req: IncomingMessage, res: ServerResponse): boolean {
	const target = matchPreview(req.headers.host, req.url);
	if (!target) return false;
	void (async () => {
		await ensureStarted();
		const { handlePreviewHttp } = await import('./proxy');
		await handlePreviewHttp(req, res, target);
	})().catch((err) => {
		console.error('preview request failed', err);
		if (!res.headersSent) {
			res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
			res.end('preview proxy error');
		} else res.destroy();
	});
	return true;
}

(globalThis as Record<symbol, unknown>)[HTTP_KEY] = takeHttp;

registerWsMatcher((req) => {
	const target = matchPreview(req.headers.host, req.url);
	if (!target) return null;
	return async (r, socket, head) => {
		try {
			const { handlePreviewUpgrade } = await import('./proxy');
			await handlePreviewUpgrade(r, socket, head, target);
		} catch (err) {
			console.error('preview upgrade failed', err);
			rejectUpgrade(socket, 500, 'preview proxy error');
		}
	};
});
