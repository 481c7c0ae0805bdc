import { describe, expect, it } from 'vitest';
import {
	alertPeriod,
	burnPerHour,
	creditsMicro,
	dimensionsOf,
	meterSegment,
	meterUpTo,
	minutePieces,
	nextExpiry,
	quantityMilli,
	replayLots,
	resolvePeriod,
	segmentCost,
	type LedgerEntry,
	type PriceList
} from './math';

const prices: PriceList = {
	dimensions: { vcpu_seconds: 1000, memory_gb_seconds: 250, sandbox_seconds: 0, computer_seconds: 0, runtime_seconds: 0, build_seconds: 0, storage_gb_hours: 10_000 },
	sizes: { xl: { vcpu_seconds: 800 } }
};
const xs = { resourceType: 'sandbox', size: 'xs', cpuCount: 1, memoryMb: 2048, storageBytes: 0 };
const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('minutePieces', () => {
	it('cuts an interval at minute boundaries', () => {
		expect(minutePieces(t0 + 50_000, t0 + 130_500)).toEqual([
			{ minute: t0, ms: 10_000 },
			{ minute: t0 + 60_000, ms: 60_000 },
			{ minute: t0 + 120_000, ms: 10_500 }
		]);
	});
	it('is empty for empty intervals and sums to the length', () => {
		expect(minutePieces(t0, t0)).toEqual([]);
		const pieces = minutePieces(t0 + 123, t0 + 987_654);
		expect(pieces.reduce((s, p) => s + p.ms, 0)).toBe(987_654 - 123);
	});
});

describe('quantities and credits', () => {
	it('meters vCPU-, GiB- and sandbox-seconds in milli-units', () => {
		expect(dimensionsOf('sandbox')).toEqual(['vcpu_seconds', 'memory_gb_seconds', 'sandbox_seconds']);
		expect(dimensionsOf('snapshot_storage')).toEqual(['storage_gb_hours']);
		expect(dimensionsOf('computer')).toEqual(['vcpu_seconds', 'memory_gb_seconds', 'computer_seconds']);
		expect(quantityMilli(xs, 'vcpu_seconds', 1500)).toBe(1500);
		expect(quantityMilli({ ...xs, cpuCount: 4 }, 'vcpu_seconds', 1500)).toBe(6000);
		expect(quantityMilli(xs, 'memory_gb_seconds', 1500)).toBe(3000);
		expect(quantityMilli(xs, 'sandbox_seconds', 1500)).toBe(1500);
		// 2 GiB for an hour = 2 GiB-hours = 2000 milli.
		expect(quantityMilli({ ...xs, resourceType: 'snapshot_storage', storageBytes: 2 * 1024 ** 3 }, 'storage_gb_hours', 3_600_000)).toBe(2000);
	});
	it('prices an xs sandbox-hour at 5.4 credits with round per-minute records', () => {
		expect(segmentCost(xs, t0, t0 + 3_600_000, prices)).toBe(5_400_000);
		expect(creditsMicro(1234, 1000)).toBe(1234);
		expect(creditsMicro(1, 250)).toBe(0);
		expect(creditsMicro(2, 250)).toBe(1); // 0.5 rounds up
	});
	it('applies per-size overrides', () => {
		const xl = { ...xs, size: 'xl', cpuCount: 16, memoryMb: 32768 };
		expect(segmentCost(xl, t0, t0 + 1000, prices)).toBe(16 * 800 + 32 * 250);
	});
	it('writes one record per minute and dimension; the sum equals the whole', () => {
		const recs = meterSegment(xs, t0 + 30_000, t0 + 90_000, prices);
		expect(recs).toHaveLength(6);
		expect(recs.filter((r) => r.dimension === 'vcpu_seconds').map((r) => r.quantityMilli)).toEqual([30_000, 30_000]);
		expect(recs.reduce((s, r) => s + r.creditsMicro, 0)).toBe(60 * 1000 + 60 * 2 * 250);
	});
	it('meters open segments up to the last whole minute, closed ones to their end', () => {
		expect(meterUpTo(null, t0 + 59_999)).toBe(t0);
		expect(meterUpTo(t0 + 1234, t0 + 59_999)).toBe(t0 + 1234);
	});
});

describe('credit lots', () => {
	const d = (days: number) => new Date(t0 + days * 86_400_000);
	const e = (id: number, kind: string, amount: number, day: number, expiresDay: number | null = null, reference: string | null = null): LedgerEntry => ({
		id,
		kind,
		amountMicro: amount,
		createdAt: d(day),
		expiresAt: expiresDay === null ? null : d(expiresDay),
		reference
	});

	it('spends the soonest-expiring credits first', () => {
		const { lots, debt } = replayLots([e(1, 'grant', 100, 0, 180), e(2, 'purchase', 50, 1, 30), e(3, 'spend', -70, 2)]);
		expect(debt).toBe(0);
		expect(lots.find((l) => l.id === 2)!.remaining).toBe(0);
		expect(lots.find((l) => l.id === 1)!.remaining).toBe(80);
		expect(nextExpiry(lots, d(3))).toEqual(d(180));
	});
	it('does not spend lots that expired before the spend; debt is paid by the next credit', () => {
		const { lots, debt } = replayLots([e(1, 'grant', 100, 0, 10), e(2, 'spend', -30, 11)]);
		expect(lots[0].remaining).toBe(100);
		expect(debt).toBe(30);
		const after = replayLots([e(1, 'grant', 100, 0, 10), e(2, 'spend', -30, 11), e(3, 'expiry', -100, 11, null, 'expiry:1'), e(4, 'purchase', 50, 12, 200)]);
		expect(after.debt).toBe(0);
		expect(after.lots.find((l) => l.id === 4)!.remaining).toBe(20);
		expect(after.lots.find((l) => l.id === 1)!.remaining).toBe(0);
	});
	it('treats negative adjustments as debits and positive ones as lots without expiry', () => {
		const { lots } = replayLots([e(1, 'grant', 100, 0, 180), e(2, 'adjustment', 10, 1), e(3, 'adjustment', -105, 2)]);
		expect(lots.find((l) => l.id === 1)!.remaining).toBe(0);
		expect(lots.find((l) => l.id === 2)!.remaining).toBe(5);
		expect(nextExpiry(lots, d(3))).toBeNull();
	});
});

describe('periods and rates', () => {
	const now = new Date(Date.UTC(2026, 4, 17, 10, 30));
	it('resolves named periods', () => {
		expect(resolvePeriod('7d', now).from).toEqual(new Date(now.getTime() - 7 * 86_400_000));
		expect(resolvePeriod('mtd', now).from).toEqual(new Date(Date.UTC(2026, 4, 1)));
		const from = new Date(Date.UTC(2026, 0, 1));
		expect(resolvePeriod('custom', now, from, now)).toEqual({ from, to: now });
		expect(() => resolvePeriod('custom', now)).toThrow();
	});
	it('keys alert periods by UTC day and month', () => {
		expect(alertPeriod('day', now)).toEqual({ key: '2026-05-17', start: new Date(Date.UTC(2026, 4, 17)) });
		expect(alertPeriod('month', now)).toEqual({ key: '2026-05', start: new Date(Date.UTC(2026, 4, 1)) });
	});
	it('turns spend over a window into credits per hour', () => {
		expect(burnPerHour(2_700_000, 1_800_000)).toBeCloseTo(5.4);
		expect(burnPerHour(1_000_000, 0)).toBe(0);
	});
});
