// Pure billing arithmetic: splitting resource-time into minutes, quantities per dimension,
// credits, credit lots (grants consumed oldest-expiry first), periods and burn rates.
// No database, no environment: everything here is unit-tested (math.spec.ts).

/** 1 credit = 1 000 000 micro-units; every stored amount is an integer number of micro-units. */
export const MICRO = 1_000_000;
export const MINUTE_MS = 60_000;
const GIB = 1024 ** 3;

/** Resource types whose segments count compute time (vCPU, memory and wall-clock seconds). */
export const COMPUTE_TYPES = ['sandbox', 'computer', 'runtime', 'build'] as const;
/** Resource types whose segments count bytes held (GiB-hours). */
export const STORAGE_TYPES = ['snapshot_storage', 'artifact_storage', 'volume_storage'] as const;

export const DIMENSIONS = [
	'vcpu_seconds',
	'memory_gb_seconds',
	'sandbox_seconds',
	'computer_seconds',
	'runtime_seconds',
	'build_seconds',
	'storage_gb_hours'
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** What a segment is made of, as far as metering is concerned. */
export interface SegmentShape {
	resourceType: string;
	size: string | null;
	cpuCount: number;
	memoryMb: number;
	storageBytes: number;
}

/** Prices in credit micro-units per unit of each dimension; `sizes` override per size. */
export interface PriceList {
	dimensions: Record<Dimension, number>;
	sizes: Record<string, Partial<Record<Dimension, number>>>;
}

export function unitPrice(prices: PriceList, size: string | null, dim: Dimension): number {
	const own = size ? prices.sizes[size]?.[dim] : undefined;
	return own ?? prices.dimensions[dim] ?? 0;
}

export const isStorageType = (t: string) => (STORAGE_TYPES as readonly string[]).includes(t) || t.endsWith('_storage');

/** The dimensions a resource type is metered in. */
export function dimensionsOf(resourceType: string): Dimension[] {
	if (isStorageType(resourceType)) return ['storage_gb_hours'];
	const own = `${resourceType}_seconds`;
	return (DIMENSIONS as readonly string[]).includes(own) ? ['vcpu_seconds', 'memory_gb_seconds', own as Dimension] : ['vcpu_seconds', 'memory_gb_seconds'];
}

/** Quantity ×1000 of one dimension for `ms` milliseconds of a segment (integers). */
export function quantityMilli(seg: SegmentShape, dim: Dimension, ms: number): number {
	switch (dim) {
		case 'vcpu_seconds':
			return seg.cpuCount * ms;
		case 'memory_gb_seconds':
			return Math.round((seg.memoryMb * ms) / 1024);
		case 'storage_gb_hours':
			return Math.round(((seg.storageBytes / GIB) * ms) / 3600);
		default:
			return ms;
	}
}

/** Credits (micro-units) for a quantity: round(quantity × price per unit). */
export function creditsMicro(qtyMilli: number, priceMicroPerUnit: number): number {
	return Math.round((qtyMilli * priceMicroPerUnit) / 1000);
}

/** [from, to) cut at minute boundaries: the minute each piece falls in and its length. */
export function minutePieces(fromMs: number, toMs: number): { minute: number; ms: number }[] {
	const out: { minute: number; ms: number }[] = [];
	let t = fromMs;
	while (t < toMs) {
		const minute = t - (((t % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
		const end = Math.min(toMs, minute + MINUTE_MS);
		out.push({ minute, ms: end - t });
		t = end;
	}
	return out;
}

export interface MeteredRecord {
	minute: number;
	dimension: Dimension;
	quantityMilli: number;
	creditsMicro: number;
}

/** The usage records of a segment over [from, to): one per minute and dimension. */
export function meterSegment(seg: SegmentShape, fromMs: number, toMs: number, prices: PriceList): MeteredRecord[] {
	const dims = dimensionsOf(seg.resourceType);
	const out: MeteredRecord[] = [];
	for (const p of minutePieces(fromMs, toMs)) {
		for (const dimension of dims) {
			const q = quantityMilli(seg, dimension, p.ms);
			out.push({ minute: p.minute, dimension, quantityMilli: q, creditsMicro: creditsMicro(q, unitPrice(prices, seg.size, dimension)) });
		}
	}
	return out;
}

/** Credits (micro) a segment costs per second, before per-minute rounding. */
export function microPerSecond(seg: SegmentShape, prices: PriceList): number {
	return dimensionsOf(seg.resourceType).reduce((sum, d) => sum + (quantityMilli(seg, d, 1000) * unitPrice(prices, seg.size, d)) / 1000, 0);
}

/** Credits (micro) for [from, to) of a segment, exactly as the meter would charge it. */
export function segmentCost(seg: SegmentShape, fromMs: number, toMs: number, prices: PriceList): number {
	return meterSegment(seg, fromMs, toMs, prices).reduce((s, r) => s + r.creditsMicro, 0);
}

/** The end a meter pass may record up to: a closed segment's end, else the last whole minute. */
export function meterUpTo(endedAtMs: number | null, nowMs: number): number {
	if (endedAtMs !== null) return endedAtMs;
	return nowMs - (nowMs % MINUTE_MS);
}

// ------------------------------------------------------------------------------------------
// Credit lots: what is left of each grant, for expiries and the balance's expiry date.

export interface LedgerEntry {
	id: number;
	kind: string;
	amountMicro: number;
	expiresAt: Date | null;
	reference: string | null;
	createdAt: Date;
}

export interface Lot {
	id: number;
	remaining: number;
	expiresAt: Date | null;
}

/**
 * Replays a ledger (oldest first): every credit (grant, purchase, positive adjustment) is a lot;
 * debits (spends, negative adjustments) use the lots that expire soonest first, skipping lots
 * already expired at the debit's time; a debit larger than the lots becomes debt that the next
 * credit pays first. An `expiry` row (reference `expiry:<lot id>`) empties its lot.
 */
export function replayLots(entries: LedgerEntry[]): { lots: Lot[]; debt: number } {
	const lots: Lot[] = [];
	const byId = new Map<number, Lot>();
	let debt = 0;
	for (const e of entries) {
		if (e.kind === 'expiry') {
			const lotId = Number(e.reference?.startsWith('expiry:') ? e.reference.slice(7) : NaN);
			const lot = byId.get(lotId);
			if (lot) lot.remaining = Math.max(0, lot.remaining + e.amountMicro);
			continue;
		}
		if (e.amountMicro > 0) {
			const paid = Math.min(debt, e.amountMicro);
			debt -= paid;
			const lot = { id: e.id, remaining: e.amountMicro - paid, expiresAt: e.expiresAt };
			lots.push(lot);
			byId.set(e.id, lot);
			continue;
		}
		let need = -e.amountMicro;
		const usable = lots
			.filter((l) => l.remaining > 0 && (!l.expiresAt || l.expiresAt.getTime() > e.createdAt.getTime()))
			.sort((a, b) => (a.expiresAt?.getTime() ?? Infinity) - (b.expiresAt?.getTime() ?? Infinity) || a.id - b.id);
		for (const l of usable) {
			if (need === 0) break;
			const take = Math.min(l.remaining, need);
			l.remaining -= take;
			need -= take;
		}
		debt += need;
	}
	return { lots, debt };
}

/** The soonest expiry among lots with credits left that have not expired yet. */
export function nextExpiry(lots: Lot[], now: Date): Date | null {
	let best: Date | null = null;
	for (const l of lots) {
		if (l.remaining <= 0 || !l.expiresAt || l.expiresAt.getTime() <= now.getTime()) continue;
		if (!best || l.expiresAt < best) best = l.expiresAt;
	}
	return best;
}

// ------------------------------------------------------------------------------------------
// Periods

export type PeriodName = '24h' | '7d' | '30d' | 'mtd' | 'custom';

/** 7d / 30d end now; mtd starts at the first of the month (UTC); custom needs from and to. */
export function resolvePeriod(period: PeriodName, now: Date, from?: Date, to?: Date): { from: Date; to: Date } {
	switch (period) {
		case '24h':
			return { from: new Date(now.getTime() - 86_400_000), to: now };
		case '7d':
			return { from: new Date(now.getTime() - 7 * 86_400_000), to: now };
		case '30d':
			return { from: new Date(now.getTime() - 30 * 86_400_000), to: now };
		case 'mtd':
			return { from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), to: now };
		case 'custom':
			if (!from || !to) throw new Error('custom periods need from and to');
			return { from, to };
	}
}

/** Budget alert periods: the key of the period `at` falls in and when it started (UTC). */
export function alertPeriod(period: 'day' | 'month', at: Date): { key: string; start: Date } {
	const y = at.getUTCFullYear();
	const m = at.getUTCMonth();
	if (period === 'day') {
		const start = new Date(Date.UTC(y, m, at.getUTCDate()));
		return { key: start.toISOString().slice(0, 10), start };
	}
	const start = new Date(Date.UTC(y, m, 1));
	return { key: start.toISOString().slice(0, 7), start };
}

/** Credits per hour from a spend over a window. */
export function burnPerHour(spentMicro: number, windowMs: number): number {
	return windowMs > 0 ? (spentMicro / MICRO) * (3_600_000 / windowMs) : 0;
}

/** Micro-units as credits (a number with up to 6 decimals). */
export const toCredits = (micro: number) => Math.round(micro) / MICRO;
/** Credits (possibly fractional) as micro-units. */
export const toMicro = (credits: number) => Math.round(credits * MICRO);
/** Credit cents (1/100 credit) as used by the docs' `credit_cents` / `max_credit_cents`. */
export const microToCents = (micro: number) => Math.round(micro / 10_000);
export const centsToMicro = (cents: number) => Math.round(cents * 10_000);
