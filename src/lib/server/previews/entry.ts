// Hooks the preview proxy into the raw HTTP routes (before SvelteKit, see http/raw.ts) and into
// the WebSocket router.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureStarted } from '../startup';
import { registerWsMatcher, rejectUpgrade } from '../ws';
import { matchPreview } from './config';
import { registerRawHttp } from '../http/raw';

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

registerRawHttp(takeHttp);

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
