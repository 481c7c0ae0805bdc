// Raw HTTP routes that run before SvelteKit, on Node's request and response (bodies stream both
// ways with no size limit): preview URLs and deployment URLs. server.js (and the vite dev plugin)
// call `globalThis[Symbol.for('hangar.raw.http')](req, res)` for every request; a matcher answers
// true when it took the request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ensureStarted } from '../startup';
import { registerWsMatcher, rejectUpgrade } from '../ws';

export type RawHttpMatcher = (req: IncomingMessage, res: ServerResponse) => boolean;

const matchers: RawHttpMatcher[] = [];

export function registerRawHttp(m: RawHttpMatcher): void {
	matchers.push(m);
}

(globalThis as Record<symbol, unknown>)[Symbol.for('hangar.raw.http')] = (req: IncomingMessage, res: ServerResponse) => matchers.some((m) => m(req, res));

/**
 * A family of raw routes recognized from Host and URL (cheap, no database): its HTTP requests and
 * its WebSocket upgrades go to the handlers (loaded lazily); a handler's crash answers 500.
 */
export function registerRawRoute<T>(opts: {
	name: string;
	match: (host: string | undefined, url: string | undefined) => T | null;
	http: () => Promise<(req: IncomingMessage, res: ServerResponse, target: T) => Promise<void>>;
	upgrade: () => Promise<(req: IncomingMessage, socket: Duplex, head: Buffer, target: T) => Promise<void>>;
}): void {
	registerRawHttp((req, res) => {
		const target = opts.match(req.headers.host, req.url);
		if (!target) return false;
		void (async () => {
			await ensureStarted();
			await (await opts.http())(req, res, target);
		})().catch((err) => {
			console.error(`${opts.name} request failed`, err);
			if (!res.headersSent) {
				res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
				res.end(`${opts.name} error`);
			} else res.destroy();
		});
		return true;
	});
	registerWsMatcher((req) => {
		const target = opts.match(req.headers.host, req.url);
		if (!target) return null;
		return async (r, socket, head) => {
			try {
				await (await opts.upgrade())(r, socket, head, target);
			} catch (err) {
				console.error(`${opts.name} upgrade failed`, err);
				rejectUpgrade(socket, 500, `${opts.name} error`);
			}
		};
	});
}
