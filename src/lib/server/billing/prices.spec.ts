import { describe, expect, it } from 'vitest';
import { parsePrices, priceForSize } from './prices';

describe('price list', () => {
	it('has round defaults: 3.6 credits per vCPU-hour, 0.9 per GiB-hour', () => {
		const p = parsePrices(undefined);
		expect(p.dimensions.vcpu_seconds).toBe(1000);
		expect(p.dimensions.memory_gb_seconds).toBe(250);
		expect(p.dimensions.storage_gb_hours).toBe(10_000);
		expect(priceForSize('xs', p).credits_per_hour).toBe(5.4);
		expect(priceForSize('small', p).credits_per_hour).toBe(10.8);
		expect(priceForSize('xl', p).credits_per_hour).toBe(86.4);
		expect(priceForSize('xs', p).breakdown.vcpu_seconds.credits_per_hour).toBe(3.6);
	});
	it('reads HANGAR_PRICES (credits per unit) with per-size overrides', () => {
		const p = parsePrices('{"vcpu_seconds": 0.002, "sandbox_seconds": 0.0001, "sizes": {"xs": {"memory_gb_seconds": 0}}}');
		expect(p.dimensions.vcpu_seconds).toBe(2000);
		expect(p.dimensions.memory_gb_seconds).toBe(250);
		expect(priceForSize('xs', p).credits_per_hour).toBeCloseTo(7.2 + 0.36);
		expect(priceForSize('small', p).credits_per_hour).toBeCloseTo(14.4 + 3.6 + 0.36);
	});
	it('refuses invalid configuration', () => {
		expect(() => parsePrices('{')).toThrow(/not valid JSON/);
		expect(() => parsePrices('{"vcpu_seconds": -1}')).toThrow(/HANGAR_PRICES is invalid/);
		expect(() => parsePrices('{"cpu": 1}')).toThrow(/HANGAR_PRICES is invalid/);
	});
});
