import { z } from 'zod';
import path from 'node:path';

/** Environment, read once and validated; a bad value stops the server with a clear message. */
const schema = z.object({
	DATABASE_URL: z.string().url().optional().or(z.literal('').transform(() => undefined)),
	HANGAR_DATA_DIR: z.string().default('./data'),
	PUBLIC_URL: z.string().url().optional(),
	HANGAR_SIGNUP: z.enum(['open', 'closed']).default('open'),
	HANGAR_SECRET_KEY: z.string().min(32).optional(),
	HANGAR_DEFAULT_TEMPLATE: z.string().default('miosa-sandbox'),
	HANGAR_DEFAULT_REGION: z.string().default('local'),
	HANGAR_LOCAL_AGENT: z.enum(['0', '1']).default('0'),
	HANGAR_RATE_LIMIT_IP_RPM: z.coerce.number().int().positive().default(1200),
	HANGAR_RATE_LIMIT_EXEC_RPM: z.coerce.number().int().positive().default(300),
	HANGAR_LOGIN_RATE_LIMIT: z.coerce.number().int().positive().default(10),
	HANGAR_SIGNUP_RATE_LIMIT: z.coerce.number().int().positive().default(30),
	HANGAR_SANDBOX_CREATE_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
	HANGAR_SWEEP_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
	// Billing: meter pass interval, price list (JSON, credits per unit), starting grant, expiry, enforcement.
	HANGAR_METER_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),
	HANGAR_PRICES: z.string().optional(),
	HANGAR_STARTING_CREDITS: z.coerce.number().min(0).default(100),
	HANGAR_CREDIT_EXPIRY_DAYS: z.coerce.number().int().min(1).default(180),
	HANGAR_CREDITS_ENFORCE: z.enum(['0', '1']).default('1')
});

function load() {
	const parsed = schema.safeParse(process.env);
	if (!parsed.success) {
		const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
		throw new Error(`Invalid environment:\n${lines}`);
	}
	const dataDir = path.resolve(parsed.data.HANGAR_DATA_DIR);
	return { ...parsed.data, dataDir };
}

export const env = load();
export const VERSION = '0.1.0';
