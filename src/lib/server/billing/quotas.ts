// Quotas per external user (an end-user of a platform built on Hangar), enforced when sandboxes
// are created: lifetime sandboxes, concurrent (provisioning + running) sandboxes, storage (disk of
// live sandboxes plus stored snapshots/artifacts) and lifetime credit spend.
import { and, count, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { db } from '../db';
import { quota, sandbox, usageRecord, usageSegment, type Quota } from '../db/schema';
import { ApiError } from '../http/errors';
import { centsToMicro, microToCents, toCredits } from './math';

const GIB = 1024 ** 3;

export const quotaSchema = z.object({
	max_sandboxes: z.number().int().min(0).nullable().optional(),
	max_concurrent: z.number().int().min(0).nullable().optional(),
	max_storage_gb: z.number().min(0).nullable().optional(),
	max_credit_cents: z.number().int().min(0).nullable().optional(),
	/** Hangar: the spend cap in credits (alternative to max_credit_cents). */
	max_credits: z.number().min(0).nullable().optional()
});
export type QuotaInput = z.infer<typeof quotaSchema>;

export const externalUserIdSchema = z.string().min(1).max(200);

export async function getQuota(organizationId: string, externalUserId: string): Promise<Quota | null> {
	const [row] = await db.select().from(quota).where(and(eq(quota.organizationId, organizationId), eq(quota.externalUserId, externalUserId)));
	return row ?? null;
}

/** Creates or replaces the quota (omitted limits = no cap). */
export async function putQuota(organizationId: string, externalUserId: string, input: QuotaInput): Promise<Quota> {
	const values = {
		maxSandboxes: input.max_sandboxes ?? null,
		maxConcurrent: input.max_concurrent ?? null,
		maxStorageBytes: input.max_storage_gb == null ? null : Math.round(input.max_storage_gb * GIB),
		maxCreditSpendMicro: input.max_credits != null ? Math.round(input.max_credits * 1_000_000) : input.max_credit_cents != null ? centsToMicro(input.max_credit_cents) : null,
		updatedAt: new Date()
	};
	const [row] = await db
		.insert(quota)
		.values({ organizationId, externalUserId, ...values })
		.onConflictDoUpdate({ target: [quota.organizationId, quota.externalUserId], set: values })
		.returning();
	return row;
}

export async function deleteQuota(organizationId: string, externalUserId: string): Promise<boolean> {
	const rows = await db.delete(quota).where(and(eq(quota.organizationId, organizationId), eq(quota.externalUserId, externalUserId))).returning({ id: quota.id });
	return rows.length > 0;
}

export async function quotaUsage(organizationId: string, externalUserId: string) {
	const mine = and(eq(sandbox.organizationId, organizationId), eq(sandbox.externalUserId, externalUserId));
	const [[total], [live], [disk], [stored], [spent]] = await Promise.all([
		db.select({ n: count() }).from(sandbox).where(mine),
		db.select({ n: count() }).from(sandbox).where(and(mine, inArray(sandbox.state, ['provisioning', 'running']))),
		db.select({ mb: sql<number>`coalesce(sum(${sandbox.diskMb}), 0)`.mapWith(Number) }).from(sandbox).where(and(mine, ne(sandbox.state, 'destroyed'))),
		db
			.select({ b: sql<number>`coalesce(sum(${usageSegment.storageBytes}), 0)`.mapWith(Number) })
			.from(usageSegment)
			.where(and(eq(usageSegment.organizationId, organizationId), eq(usageSegment.externalUserId, externalUserId), isNull(usageSegment.endedAt), sql`${usageSegment.resourceType} like '%\_storage'`)),
		db
			.select({ s: sql<number>`coalesce(sum(${usageRecord.creditsMicro}), 0)`.mapWith(Number) })
			.from(usageRecord)
			.where(and(eq(usageRecord.organizationId, organizationId), eq(usageRecord.externalUserId, externalUserId)))
	]);
	return { totalSandboxes: total.n, concurrent: live.n, storageBytes: disk.mb * 1024 * 1024 + stored.b, spentMicro: spent.s };
}

export function toQuotaDto(externalUserId: string, q: Quota | null, usage: Awaited<ReturnType<typeof quotaUsage>>) {
	return {
		external_user_id: externalUserId,
		limits: {
			max_sandboxes: q?.maxSandboxes ?? null,
			max_concurrent: q?.maxConcurrent ?? null,
			max_storage_gb: q?.maxStorageBytes == null ? null : q.maxStorageBytes / GIB,
			max_credit_cents: q?.maxCreditSpendMicro == null ? null : microToCents(q.maxCreditSpendMicro),
			max_credits: q?.maxCreditSpendMicro == null ? null : toCredits(q.maxCreditSpendMicro)
		},
		usage: {
			total_sandboxes: usage.totalSandboxes,
			concurrent: usage.concurrent,
			storage_gb: Math.round((usage.storageBytes / GIB) * 1000) / 1000,
			credit_cents: microToCents(usage.spentMicro),
			credits: toCredits(usage.spentMicro)
		},
		configured: q !== null,
		updated_at: q?.updatedAt.toISOString() ?? null
	};
}

function exceeded(status: 402 | 409, limit: string, max: number, current: number, externalUserId: string, message: string): ApiError {
	return new ApiError(status, 'QUOTA_EXCEEDED', message, { limit, max, current, external_user_id: externalUserId });
}

/**
 * Admission for a new sandbox of an external user: 409 QUOTA_EXCEEDED for sandbox counts and
 * storage, 402 QUOTA_EXCEEDED for the credit spend cap (SDKs raise InsufficientCreditsError).
 */
export async function assertQuota(organizationId: string, externalUserId: string | null, add: { diskMb: number }): Promise<void> {
	if (!externalUserId) return;
	const q = await getQuota(organizationId, externalUserId);
	if (!q) return;
	const u = await quotaUsage(organizationId, externalUserId);
	if (q.maxSandboxes != null && u.totalSandboxes >= q.maxSandboxes) {
		throw exceeded(409, 'max_sandboxes', q.maxSandboxes, u.totalSandboxes, externalUserId, `external user ${externalUserId} has created ${u.totalSandboxes} of at most ${q.maxSandboxes} sandboxes`);
	}
	if (q.maxConcurrent != null && u.concurrent >= q.maxConcurrent) {
		throw exceeded(409, 'max_concurrent', q.maxConcurrent, u.concurrent, externalUserId, `external user ${externalUserId} already runs ${u.concurrent} of at most ${q.maxConcurrent} concurrent sandboxes`);
	}
	if (q.maxStorageBytes != null && u.storageBytes + add.diskMb * 1024 * 1024 > q.maxStorageBytes) {
		throw exceeded(409, 'max_storage_gb', q.maxStorageBytes / GIB, Math.round((u.storageBytes / GIB) * 1000) / 1000, externalUserId, `external user ${externalUserId} would exceed the storage quota of ${q.maxStorageBytes / GIB} GiB`);
	}
	if (q.maxCreditSpendMicro != null && u.spentMicro >= q.maxCreditSpendMicro) {
		throw exceeded(402, 'max_credit_cents', microToCents(q.maxCreditSpendMicro), microToCents(u.spentMicro), externalUserId, `external user ${externalUserId} has used their credit allowance`);
	}
}
