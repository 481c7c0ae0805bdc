import { describe, expect, it } from 'vitest';
import { checkRate } from './rate-limit';
import { ApiError } from './errors';

describe('checkRate', () => {
	it('allows up to the limit per minute, then throws 429 with Retry-After', () => {
		const key = `t-${Math.random()}`;
		const t0 = Date.UTC(2026, 0, 1, 0, 0, 10);
		for (let i = 0; i < 5; i++) checkRate(key, 5, t0 + i);
		try {
			checkRate(key, 5, t0 + 10);
			expect.unreachable();
		} catch (e) {
			expect(e).toBeInstanceOf(ApiError);
			expect((e as ApiError).status).toBe(429);
			expect(Number((e as ApiError).headers?.['retry-after'])).toBe(50);
		}
	});

	it('weights the previous window so a burst at a boundary is not doubled', () => {
		const key = `b-${Math.random()}`;
		const end = Date.UTC(2026, 0, 1, 0, 0, 59, 900);
		for (let i = 0; i < 10; i++) checkRate(key, 10, end);
		// Just after the boundary almost all of the previous window still counts.
		expect(() => checkRate(key, 10, end + 200)).toThrow(ApiError);
		// A full window later it is forgotten.
		expect(() => checkRate(key, 10, end + 120_000)).not.toThrow();
	});
});
