// The price list: credits per unit of each usage dimension, with optional per-size overrides.
// Configured with HANGAR_PRICES (JSON, in credits); the defaults are round numbers:
//   vCPU-second 0.001 credits (3.6 credits per vCPU-hour)
//   memory GiB-second 0.00025 credits (0.9 credits per GiB-hour)
//   storage GiB-hour 0.01 credits
//   sandbox/computer/runtime/build seconds: free (the vCPU and memory they hold are charged)
// so an xs sandbox (1 vCPU, 2 GiB) costs 5.4 credits an hour.
import { z } from 'zod';
import { env } from '../env';
import { SIZES, type SizeName } from '../sandboxes/schemas';
import { DIMENSIONS, MICRO, dimensionsOf, microPerSecond, toCredits, unitPrice, type Dimension, type PriceList } from './math';

export const DEFAULT_PRICES_CREDITS: Record<Dimension, number> = {
	vcpu_seconds: 0.001,
	memory_gb_seconds: 0.00025,
	sandbox_seconds: 0,
	computer_seconds: 0,
	runtime_seconds: 0,
	build_seconds: 0,
	storage_gb_hours: 0.01
};

const price = z.number().min(0).max(1_000_000).optional();
const dimensionShape = Object.fromEntries(DIMENSIONS.map((d) => [d, price])) as Record<Dimension, typeof price>;
const dimensionPrices = z.object(dimensionShape).strict();
const pricesSchema = z.object({ ...dimensionShape, sizes: z.record(z.string(), dimensionPrices).optional() }).strict();

/** Parses HANGAR_PRICES (credits per unit); throws with a readable message when invalid. */
export function parsePrices(json: string | undefined): PriceList {
	const dims = { ...DEFAULT_PRICES_CREDITS };
	const sizes: Record<string, Partial<Record<Dimension, number>>> = {};
	if (json && json.trim()) {
		let raw: unknown;
		try {
			raw = JSON.parse(json);
		} catch {
			throw new Error('HANGAR_PRICES is not valid JSON');
		}
		const r = pricesSchema.safeParse(raw);
		if (!r.success) throw new Error(`HANGAR_PRICES is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
		const { sizes: s, ...d } = r.data as Partial<Record<Dimension, number>> & { sizes?: Record<string, Partial<Record<Dimension, number>>> };
		for (const [k, v] of Object.entries(d)) if (v !== undefined) dims[k as Dimension] = v;
		for (const [name, over] of Object.entries(s ?? {})) sizes[name] = Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined));
	}
	// Micro-units per unit, cleaned of float noise (0.00025 × 10⁶ is 250.00000000000003).
	const micro = (v: number) => Math.round(v * MICRO * 1e6) / 1e6;
	return {
		dimensions: Object.fromEntries(DIMENSIONS.map((d) => [d, micro(dims[d])])) as Record<Dimension, number>,
		sizes: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([d, p]) => [d, micro(p as number)]))]))
	};
}

let cached: PriceList | null = null;
/** The instance's price list (micro-units per unit). */
export function prices(): PriceList {
	cached ??= parsePrices(env.HANGAR_PRICES);
	return cached;
}

/** What a sandbox of a size costs, for create forms and GET /compute/pricing. */
export function priceForSize(size: string, list: PriceList = prices()) {
	const s = SIZES[size as SizeName] ?? SIZES.xs;
	const shape = { resourceType: 'sandbox', size, cpuCount: s.cpu_count, memoryMb: s.memory_mb, storageBytes: 0 };
	const perSecondMicro = microPerSecond(shape, list);
	const breakdown = Object.fromEntries(
		dimensionsOf('sandbox').map((d) => [d, { credits_per_unit: unitPrice(list, size, d) / MICRO, credits_per_hour: toCredits((unitPrice(list, size, d) * (d === 'vcpu_seconds' ? s.cpu_count : d === 'memory_gb_seconds' ? s.memory_mb / 1024 : 1) * 3600)) }])
	);
	return {
		size,
		cpu_count: s.cpu_count,
		memory_mb: s.memory_mb,
		disk_mb: s.disk_mb,
		credits_per_second: perSecondMicro / MICRO,
		credits_per_hour: toCredits(perSecondMicro * 3600),
		micro_per_hour: Math.round(perSecondMicro * 3600),
		breakdown
	};
}

/** "5.4 credits/h" for forms. */
export function formatHourly(size: string): string {
	const p = priceForSize(size);
	return `${Number(p.credits_per_hour.toFixed(4))} credits/h`;
}

/** The whole price list as the API shows it (credits). */
export function pricingDto() {
	const list = prices();
	return {
		currency: 'credits',
		micro_units_per_credit: MICRO,
		starting_credits: env.HANGAR_STARTING_CREDITS,
		credit_expiry_days: env.HANGAR_CREDIT_EXPIRY_DAYS,
		dimensions: Object.fromEntries(DIMENSIONS.map((d) => [d, list.dimensions[d] / MICRO])),
		size_overrides: Object.fromEntries(Object.entries(list.sizes).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([d, p]) => [d, (p as number) / MICRO]))])),
		sizes: Object.keys(SIZES).map((s) => priceForSize(s, list))
	};
}
