// Query parameters shared by the API routes and the dashboard.
import { z } from 'zod';
import { validationError } from '../http/errors';
import { CREDIT_KINDS, type TxnFilter } from './ledger';

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date or time');

export const txnQuery = z
	.object({
		kind: z.string().optional(),
		type: z.enum(['credit', 'debit']).optional(),
		from: iso.optional(),
		to: iso.optional(),
		format: z.enum(['json', 'csv']).optional()
	})
	.passthrough();

/** kind (comma list), type, from, to → a ledger filter; unknown kinds are a 422. */
export function txnFilter(q: { kind?: string; type?: 'credit' | 'debit'; from?: string; to?: string }): TxnFilter {
	const kinds = q.kind?.split(',').map((k) => k.trim()).filter(Boolean);
	const bad = kinds?.filter((k) => !(CREDIT_KINDS as readonly string[]).includes(k)) ?? [];
	if (bad.length) throw validationError(`unknown kind ${bad.join(',')}`, { kind: [`one of ${CREDIT_KINDS.join(', ')}`] });
	return { kinds, type: q.type, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined };
}
