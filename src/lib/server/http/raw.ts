// Raw HTTP routes that run before SvelteKit, on Node's request and response (bodies stream both
// ways with no size limit): preview URLs and deployment URLs. server.js (and the vite dev plugin)
// call `globalThis[Symbol.for('hangar.raw.http')](req, res)` for every request; a matcher answers
// true when it took the request.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RawHttpMatcher = (req: IncomingMessage, res: ServerResponse) => boolean;

const matchers: RawHttpMatcher[] = [];

export function registerRawHttp(m: RawHttpMatcher): void {
	matchers.push(m);
}

(globalThis as Record<symbol, unknown>)[Symbol.for('hangar.raw.http')] = (req: IncomingMessage, res: ServerResponse) => matchers.some((m) => m(req, res));
