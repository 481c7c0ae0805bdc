import { ApiError } from './errors';

/**
 * Fixed-window-with-carryover limiter (a sliding-window approximation), in memory per replica.
 * Limits are per key per minute; a hit past the limit throws 429 rate_limit_exceeded with Retry-After.
 */
interface Window {
	start: number;
	count: number;
	prev: number;
}
const windows = new Map<string, Window>();
const MINUTE = 60_000;

export function checkRate(key: string, limitPerMin: number, now = Date.now()): void {
	let w = windows.get(key);
	const start = now - (now % MINUTE);
	if (!w) {
		w = { start, count: 0, prev: 0 };
		windows.set(key, w);
	} else if (w.start !== start) {
		w.prev = start - w.start === MINUTE ? w.count : 0;
		w.start = start;
		w.count = 0;
	}
	const weight = 1 - (now - start) / MINUTE;
	const estimate = w.prev * weight + w.count;
	if (estimate + 1 > limitPerMin) {
		const retryAfter = Math.max(1, Math.ceil((start + MINUTE - now) / 1000));
		throw new ApiError(429, 'rate_limit_exceeded', `rate limit of ${limitPerMin} requests per minute exceeded`, {
			limit: limitPerMin,
			retry_after: retryAfter
		}, { 'retry-after': String(retryAfter) });
	}
	w.count++;
}

// Forget idle windows so memory stays bounded.
setInterval(() => {
	const cutoff = Date.now() - 2 * MINUTE;
	for (const [k, w] of windows) if (w.start < cutoff) windows.delete(k);
}, MINUTE).unref();
