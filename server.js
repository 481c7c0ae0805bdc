// Production entry: the built SvelteKit handler in a Node HTTP server, plus WebSocket upgrades.
import http from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
if (process.env.PUBLIC_URL && !process.env.ORIGIN) process.env.ORIGIN = process.env.PUBLIC_URL.replace(/\/$/, '');
// Raw file uploads (PUT /files/{path}, multipart /files/upload) stream up to HANGAR_MAX_UPLOAD_BYTES
// (default 1 GiB, enforced by those routes); the adapter's limit must not be below that.
process.env.BODY_SIZE_LIMIT ??= String(Math.max(64 * 1024 * 1024, (Number(process.env.HANGAR_MAX_UPLOAD_BYTES) || 1024 ** 3) + 16 * 1024 * 1024));
// adapter-node assumes https unless told; tell it the real protocol of each connection.
process.env.PROTOCOL_HEADER ??= 'x-hangar-proto';

const { handler } = await import('./build/handler.js');
const hangar = () => globalThis[Symbol.for('hangar.server')];

const server = http.createServer((req, res) => {
	req.headers['x-hangar-proto'] = req.socket.encrypted ? 'https' : 'http';
	// Preview URLs and deployment URLs (apps): raw routes before SvelteKit (src/lib/server/http/raw.ts).
	if (globalThis[Symbol.for('hangar.raw.http')]?.(req, res)) return;
	// API clients (SDKs, curl) send no Origin header. SvelteKit's CSRF check refuses form-typed
	// bodies without one; mark such API requests as same-origin so uploads work, and tell hooks
	// the header was added so a cookie alone never authorizes them.
	if (!req.headers.origin && req.url?.startsWith('/api/')) {
		req.headers.origin = process.env.ORIGIN ?? `${req.headers['x-hangar-proto']}://${req.headers.host}`;
		req.headers['x-hangar-origin-added'] = '1';
	} else {
		delete req.headers['x-hangar-origin-added'];
	}
	handler(req, res);
});

server.on('upgrade', async (req, socket, head) => {
	socket.on('error', () => {});
	try {
		await hangar()?.ensureStarted();
		const route = globalThis[Symbol.for('hangar.ws.upgrade')];
		if (!route) throw new Error('no WebSocket router');
		route(req, socket, head);
	} catch (err) {
		console.error('upgrade failed', err);
		socket.destroy();
	}
});

server.keepAliveTimeout = 65_000;
server.listen(port, host, async () => {
	console.log(`Hangar listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`);
	try {
		await hangar()?.ensureStarted();
		await globalThis[Symbol.for('hangar.server.listening')]?.(port);
	} catch (err) {
		console.error('startup failed', err);
		process.exit(1);
	}
});

let stopping = false;
async function stop(signal) {
	if (stopping) return;
	stopping = true;
	console.log(`${signal}: shutting down`);
	server.close();
	const timer = setTimeout(() => process.exit(0), 5000);
	timer.unref();
	try {
		await hangar()?.shutdown();
	} finally {
		process.exit(0);
	}
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
