import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { pricingDto } from '$lib/server/billing/prices';

/**
 * GET /api/v1/compute/pricing — any credential. The instance's price list: `{data:{currency:
 * "credits", micro_units_per_credit, starting_credits, credit_expiry_days, dimensions:{<dim>:
 * credits per unit}, size_overrides, sizes:[{size, cpu_count, memory_mb, disk_mb,
 * credits_per_second, credits_per_hour, micro_per_hour, breakdown}]}}`.
 */
export const GET = api({}, async () => json({ data: pricingDto() }));
