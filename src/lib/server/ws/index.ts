import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void | Promise<void>;

const routes = new Map<string, UpgradeHandler>();
const KEY = Symbol.for('hangar.ws.upgrade');

/** Picks a handler from the request itself (e.g. preview hosts, routed by Host header), or null. */
export type UpgradeMatcher = (req: IncomingMessage, url: URL) => UpgradeHandler | null;
const matchers: UpgradeMatcher[] = [];

/** Registers a matcher consulted before the exact paths. */
export function registerWsMatcher(matcher: UpgradeMatcher): void {
	matchers.push(matcher);
	(globalThis as Record<symbol, unknown>)[KEY] = route;
}

/** Registers a WebSocket endpoint by exact path (server.js and the vite dev plugin call the router). */
export function registerWsRoute(path: string, handler: UpgradeHandler): void {
	routes.set(path, handler);
	(globalThis as Record<symbol, unknown>)[KEY] = route;
}

function route(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
	const url = new URL(req.url ?? '/', 'http://localhost');
	const handler = matchers.reduce<UpgradeHandler | null>((h, m) => h ?? m(req, url), null) ?? routes.get(url.pathname);
	if (!handler) {
		rejectUpgrade(socket, 404, 'no such WebSocket endpoint');
		return false;
	}
	Promise.resolve(handler(req, socket, head, url)).catch((err) => {
		console.error('websocket upgrade failed', err);
		rejectUpgrade(socket, 500, 'internal error');
	});
	return true;
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
	if (socket.destroyed) return;
	const body = JSON.stringify({ error: { code: status === 401 ? 'invalid_token' : status === 404 ? 'NOT_FOUND' : 'INTERNAL_ERROR', message } });
	socket.end(
		`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Error'}\r\n` +
			`content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
	);
}

/** A shared noServer WebSocketServer for endpoints that accept after their own checks. */
export const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });

export function accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> {
	return new Promise((resolve) => wss.handleUpgrade(req, socket, head, resolve));
}

registerWsRoute('/ws/ping', async (req, socket, head) => {
	const ws = await accept(req, socket, head);
	ws.on('message', (m) => ws.send(m));
});
