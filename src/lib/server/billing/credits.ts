// Adding credits (and adjusting them): who may, and the API/form input.
//  - instance administrators: any kind (grant, purchase, adjustment) for any organization (by id);
//  - owners of an organization: record a purchase for their own organization (credits bought
//    outside Hangar), or lower their own balance with a negative adjustment;
//  - everyone else (admins, members, API keys): 403.
import { z } from 'zod';
import type { Principal } from '../auth/principal';
import { getOrganization } from '../accounts/service';
import { audit, type AuditActor } from '../audit/service';
import { emit } from '../events/service';
import { forbidden, notFound, validationError } from '../http/errors';
import { postTransaction, toTransactionDto } from './ledger';
import { toCredits, toMicro } from './math';
import { nudgeMeter } from './segments';

export const grantSchema = z
	.object({
		organization_id: z.string().uuid().optional(),
		kind: z.enum(['grant', 'purchase', 'adjustment']).default('grant'),
		/** Credits (may be fractional; negative only for adjustments). */
		amount: z.number().min(-1e9).max(1e9).optional(),
		/** Adjustments: make the balance exactly this many credits. */
		set_balance: z.number().min(-1e9).max(1e9).optional(),
		description: z.string().trim().max(500).optional(),
		/** Idempotency: a second request with the same reference changes nothing. */
		reference: z.string().trim().min(1).max(200).optional(),
		/** Grants and purchases: when they expire (default 180 days); null = never. */
		expires_at: z.string().datetime({ offset: true }).nullable().optional(),
		expires_in_days: z.number().int().min(1).max(3650).optional(),
		metadata: z.record(z.string(), z.unknown()).optional()
	})
	.superRefine((v, ctx) => {
		if (v.amount === undefined && v.set_balance === undefined) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'amount (or set_balance for an adjustment) is required' });
		if (v.set_balance !== undefined && v.kind !== 'adjustment') ctx.addIssue({ code: 'custom', path: ['set_balance'], message: 'set_balance is for adjustments' });
		if (v.amount !== undefined && v.kind !== 'adjustment' && v.amount <= 0) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'grants and purchases are positive' });
		if (v.amount !== undefined && toMicro(v.amount) === 0) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'amount must not be zero' });
	});
export type GrantInput = z.infer<typeof grantSchema>;

/** Checks the rules above; returns the organization the credits go to. */
export function authorizeGrant(p: Principal, input: GrantInput): string {
	const target = input.organization_id?.toLowerCase() ?? p.organizationId;
	if (p.kind === 'user' && p.isInstanceAdmin) return target;
	if (p.kind !== 'user' || p.role !== 'owner') throw forbidden('only instance administrators and organization owners may add credits');
	if (target !== p.organizationId) throw forbidden('only instance administrators may add credits to other organizations');
	const lowering = input.kind === 'adjustment' && ((input.amount ?? 0) < 0 || input.set_balance !== undefined);
	if (input.kind !== 'purchase' && !lowering) throw forbidden('organization owners may record purchases (or lower their own balance); grants are for instance administrators');
	return target;
}

export async function addCredits(actor: AuditActor & { principal: Principal }, input: GrantInput) {
	const orgId = authorizeGrant(actor.principal, input);
	if (orgId !== actor.principal.organizationId && !(await getOrganization(orgId))) throw notFound('organization');
	let expiresAt: Date | null | undefined = undefined;
	if (input.expires_at !== undefined) expiresAt = input.expires_at === null ? null : new Date(input.expires_at);
	else if (input.expires_in_days) expiresAt = new Date(Date.now() + input.expires_in_days * 86_400_000);
	if (expiresAt && expiresAt.getTime() <= Date.now()) throw validationError('expires_at is in the past', { expires_at: ['must be in the future'] });
	const r = await postTransaction({
		organizationId: orgId,
		kind: input.kind,
		amountMicro: input.amount !== undefined ? toMicro(input.amount) : 0,
		setBalanceMicro: input.set_balance !== undefined ? toMicro(input.set_balance) : undefined,
		description: input.description ?? (input.kind === 'purchase' ? 'Credits purchased' : input.kind === 'grant' ? 'Credits granted' : 'Balance adjusted'),
		reference: input.reference ?? null,
		expiresAt,
		createdBy: actor.principal.userId,
		metadata: { ...(input.metadata ?? {}), by: actor.principal.label }
	});
	if (r.created) {
		const dto = toTransactionDto(r.txn);
		await audit(
			{ ...actor, organizationId: orgId },
			{ action: `credits.${input.kind === 'adjustment' ? 'adjusted' : input.kind === 'purchase' ? 'purchased' : 'granted'}`, category: 'security', resourceType: 'credit_transaction', resourceId: dto.id, metadata: { amount: dto.amount, kind: input.kind } }
		);
		await emit({
			organizationId: orgId,
			type: input.kind === 'adjustment' ? 'credits.adjusted' : 'credits.added',
			resourceType: 'credit_transaction',
			resourceId: dto.id,
			data: { transaction_id: dto.id, kind: input.kind, amount: dto.amount, balance: toCredits(r.balanceMicro) }
		});
		// Credits arrived (or left): let the meter resume or pause at once.
		nudgeMeter();
	}
	return { txn: r.txn, created: r.created, balanceMicro: r.balanceMicro };
}
