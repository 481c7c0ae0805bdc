// Admission checks the sandbox service calls before creating or resuming: credits, then quotas.
// Imports nothing from the sandbox service (which imports this), so there is no cycle.
import { env } from '../env';
import { ApiError } from '../http/errors';
import { balanceRow } from './ledger';
import { toCredits } from './math';
import { assertQuota } from './quotas';

/** 402 INSUFFICIENT_CREDITS when the organization's balance is used up (and enforcement is on). */
export async function assertCredits(organizationId: string): Promise<void> {
	if (env.HANGAR_CREDITS_ENFORCE !== '1') return;
	const b = await balanceRow(organizationId);
	if (b.balanceMicro <= 0 || b.exhaustedAt) {
		throw new ApiError(402, 'INSUFFICIENT_CREDITS', 'the organization has no credits left; add credits to create or resume resources', {
			balance: toCredits(b.balanceMicro),
			balance_micro: b.balanceMicro
		});
	}
}

/** Everything a new sandbox must pass: credits, then the external user's quota. */
export async function admitSandbox(organizationId: string, opts: { externalUserId: string | null; diskMb: number }): Promise<void> {
	await assertCredits(organizationId);
	await assertQuota(organizationId, opts.externalUserId, { diskMb: opts.diskMb });
}
