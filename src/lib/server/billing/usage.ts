// Reading usage: rollups of usage records by an attribution key or by day, the per-sandbox view,
// the credits summary and the raw records.
import { and, asc, eq, gt, gte, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { db } from '../db';
import { creditTransaction, project, usageRecord, usageSegment, workspace, type Sandbox, type UsageSegment } from '../db/schema';
import { ApiError, validationError } from '../http/errors';
import { MICRO, burnPerHour, microToCents, resolvePeriod, segmentCost, toCredits, type PeriodName } from './math';
import { prices } from './prices';

export const GROUP_KEYS = ['workspace', 'project', 'external_workspace_id', 'external_user_id', 'external_project_id', 'resource_type', 'day', 'dimension'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];
const ALIASES: Record<string, GroupKey> = { workspace_id: 'workspace', project_id: 'project', type: 'resource_type' };

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date or time');

export const periodQuery = z.object({
	period: z.enum(['24h', '7d', '30d', 'mtd', 'month-to-date', 'custom']).optional(),
	from: isoDate.optional(),
	to: isoDate.optional(),
	start: isoDate.optional(),
	end: isoDate.optional(),
	period_start: isoDate.optional(),
	period_end: isoDate.optional()
});

/** A period from query parameters: period=7d|30d|mtd|custom (from/to, start/end or period_start/period_end). */
export function periodOf(q: z.infer<typeof periodQuery>, fallback: PeriodName, now = new Date()): { from: Date; to: Date } {
	const fromS = q.from ?? q.start ?? q.period_start;
	const toS = q.to ?? q.end ?? q.period_end;
	let name: PeriodName = q.period === 'month-to-date' ? 'mtd' : (q.period ?? (fromS ? 'custom' : fallback));
	if (name === 'custom' && !fromS) throw validationError('period=custom needs from (or start) and to', { from: ['required for a custom period'] });
	if (name !== 'custom' && fromS) name = 'custom';
	const p = resolvePeriod(name, now, fromS ? new Date(fromS) : undefined, toS ? new Date(toS) : now);
	if (p.to.getTime() <= p.from.getTime()) throw validationError('the period ends before it starts', { to: ['must be after from'] });
	if (p.to.getTime() - p.from.getTime() > 400 * 86_400_000) throw validationError('periods are at most 400 days', { from: ['at most 400 days before to'] });
	return p;
}

export const usageQuery = periodQuery.extend({
	group_by: z.string().optional(),
	workspace_id: z.string().uuid().optional(),
	project_id: z.string().uuid().optional(),
	external_workspace_id: z.string().optional(),
	external_project_id: z.string().optional(),
	external_user_id: z.string().optional(),
	resource_type: z.string().optional(),
	resource_id: z.string().optional(),
	limit: z.coerce.number().int().min(1).max(1000).optional()
});
export type UsageQuery = z.infer<typeof usageQuery>;

export function parseGroupBy(v: string | undefined, fallback: GroupKey[] = ['external_user_id']): GroupKey[] {
	if (!v) return fallback;
	const keys = v.split(',').map((s) => s.trim()).filter(Boolean).map((k) => ALIASES[k] ?? k);
	const bad = keys.filter((k) => !(GROUP_KEYS as readonly string[]).includes(k));
	if (bad.length || !keys.length || keys.length > 2) {
		throw new ApiError(422, 'VALIDATION_ERROR', `group_by is one or two of ${GROUP_KEYS.join(', ')}`, { fields: { group_by: [`unknown or too many keys: ${v}`] } });
	}
	return keys as GroupKey[];
}

function keyExpr(k: GroupKey): SQL {
	switch (k) {
		case 'workspace':
			return sql`${usageRecord.workspaceId}::text`;
		case 'project':
			return sql`${usageRecord.projectId}::text`;
		case 'external_workspace_id':
			return sql`${usageRecord.externalWorkspaceId}`;
		case 'external_user_id':
			return sql`${usageRecord.externalUserId}`;
		case 'external_project_id':
			return sql`${usageRecord.externalProjectId}`;
		case 'resource_type':
			return sql`${usageRecord.resourceType}`;
		case 'dimension':
			return sql`${usageRecord.dimension}`;
		case 'day':
			return sql`to_char(${usageRecord.minute} at time zone 'UTC', 'YYYY-MM-DD')`;
	}
}

/** The name a group key has in results (the docs use `workspace_id`, `external_user_id`, …). */
export const resultKey = (k: GroupKey) => (k === 'workspace' ? 'workspace_id' : k === 'project' ? 'project_id' : k);

export interface UsageTotals {
	vcpu_seconds: number;
	memory_gb_seconds: number;
	sandbox_seconds: number;
	computer_seconds: number;
	runtime_seconds: number;
	build_seconds: number;
	storage_gb_hours: number;
	credits: number;
	credits_micro: number;
	credit_cents: number;
}

const dimSum = (d: string) => sql<number>`coalesce(sum(case when ${usageRecord.dimension} = ${d} then ${usageRecord.quantityMilli} else 0 end), 0)`.mapWith(Number);

function totals(r: { vcpu: number; mem: number; sbx: number; cmp: number; rt: number; bld: number; sto: number; credits: number }): UsageTotals {
	return {
		vcpu_seconds: r.vcpu / 1000,
		memory_gb_seconds: r.mem / 1000,
		sandbox_seconds: r.sbx / 1000,
		computer_seconds: r.cmp / 1000,
		runtime_seconds: r.rt / 1000,
		build_seconds: r.bld / 1000,
		storage_gb_hours: r.sto / 1000,
		credits: toCredits(r.credits),
		credits_micro: r.credits,
		credit_cents: microToCents(r.credits)
	};
}

function recordFilters(organizationId: string, from: Date, to: Date, q: Partial<UsageQuery>): SQL {
	const where: SQL[] = [eq(usageRecord.organizationId, organizationId), gte(usageRecord.minute, from), lt(usageRecord.minute, to)];
	if (q.workspace_id) where.push(eq(usageRecord.workspaceId, q.workspace_id));
	if (q.project_id) where.push(eq(usageRecord.projectId, q.project_id));
	if (q.external_workspace_id) where.push(eq(usageRecord.externalWorkspaceId, q.external_workspace_id));
	if (q.external_project_id) where.push(eq(usageRecord.externalProjectId, q.external_project_id));
	if (q.external_user_id) where.push(eq(usageRecord.externalUserId, q.external_user_id));
	if (q.resource_type) where.push(eq(usageRecord.resourceType, q.resource_type));
	if (q.resource_id) where.push(eq(usageRecord.resourceId, q.resource_id));
	return and(...where)!;
}

const measures = {
	vcpu: dimSum('vcpu_seconds'),
	mem: dimSum('memory_gb_seconds'),
	sbx: dimSum('sandbox_seconds'),
	cmp: dimSum('computer_seconds'),
	rt: dimSum('runtime_seconds'),
	bld: dimSum('build_seconds'),
	sto: dimSum('storage_gb_hours'),
	credits: sql<number>`coalesce(sum(${usageRecord.creditsMicro}), 0)`.mapWith(Number)
};

export type RollupRow = Record<string, string | number | null> & UsageTotals;

/**
 * Usage grouped by one or two keys over [from, to) (records are per minute: a minute belongs to
 * the period it starts in). Sorted by credits (desc), except by day (ascending).
 */
export async function rollup(organizationId: string, groupBy: GroupKey[], from: Date, to: Date, q: Partial<UsageQuery> = {}): Promise<RollupRow[]> {
	const k0 = keyExpr(groupBy[0]);
	const k1 = groupBy[1] ? keyExpr(groupBy[1]) : sql`null`;
	const rows = await db
		.select({ k0: sql<string | null>`${k0}`, k1: sql<string | null>`${k1}`, ...measures })
		.from(usageRecord)
		.where(recordFilters(organizationId, from, to, q))
		.groupBy(sql`1`, sql`2`)
		.limit(q.limit ?? 1000);
	// Names for workspace and project ids.
	const names = new Map<string, string>();
	const wsIds = new Set<string>();
	const pIds = new Set<string>();
	groupBy.forEach((k, i) => {
		for (const r of rows) {
			const v = i === 0 ? r.k0 : r.k1;
			if (!v) continue;
			if (k === 'workspace') wsIds.add(v);
			if (k === 'project') pIds.add(v);
		}
	});
	if (wsIds.size) for (const w of await db.select({ id: workspace.id, name: workspace.name }).from(workspace).where(inArray(workspace.id, [...wsIds]))) names.set(w.id, w.name);
	if (pIds.size) for (const p of await db.select({ id: project.id, name: project.name }).from(project).where(inArray(project.id, [...pIds]))) names.set(p.id, p.name);
	const out: RollupRow[] = rows.map((r) => {
		const row: Record<string, string | number | null> = {};
		groupBy.forEach((k, i) => {
			const v = i === 0 ? r.k0 : r.k1;
			row[resultKey(k)] = v;
			if (k === 'workspace') row.workspace_name = v ? (names.get(v) ?? null) : null;
			if (k === 'project') row.project_name = v ? (names.get(v) ?? null) : null;
		});
		return { ...row, ...totals(r) } as RollupRow;
	});
	if (groupBy[0] === 'day') out.sort((a, b) => String(a.day).localeCompare(String(b.day)) || b.credits_micro - a.credits_micro);
	else out.sort((a, b) => b.credits_micro - a.credits_micro);
	return out;
}

/** Totals over a period (no grouping). */
export async function usageTotals(organizationId: string, from: Date, to: Date, q: Partial<UsageQuery> = {}): Promise<UsageTotals> {
	const [r] = await db.select(measures).from(usageRecord).where(recordFilters(organizationId, from, to, q));
	return totals(r);
}

/** `GET /credits/usage`: credits used in the period (compute vs AI; AI is not metered yet). */
export async function creditsUsage(organizationId: string, from: Date, to: Date) {
	const t = await usageTotals(organizationId, from, to);
	const storage = await db
		.select({ s: sql<number>`coalesce(sum(${usageRecord.creditsMicro}), 0)`.mapWith(Number) })
		.from(usageRecord)
		.where(and(recordFilters(organizationId, from, to, {}), eq(usageRecord.dimension, 'storage_gb_hours')));
	const storageMicro = storage[0]?.s ?? 0;
	return {
		period_start: from.toISOString(),
		period_end: to.toISOString(),
		compute_credits: toCredits(t.credits_micro - storageMicro),
		storage_credits: toCredits(storageMicro),
		ai_credits: 0,
		total_credits: t.credits,
		total_credits_micro: t.credits_micro,
		vcpu_seconds: t.vcpu_seconds,
		memory_gb_seconds: t.memory_gb_seconds,
		sandbox_seconds: t.sandbox_seconds,
		storage_gb_hours: t.storage_gb_hours
	};
}

/** Spend (from the ledger) over the last hour and day, as credits per hour. */
export async function burnRate(organizationId: string, now = new Date()) {
	const since = (ms: number) =>
		db
			.select({ s: sql<number>`coalesce(-sum(${creditTransaction.amountMicro}), 0)`.mapWith(Number) })
			.from(creditTransaction)
			.where(and(eq(creditTransaction.organizationId, organizationId), eq(creditTransaction.kind, 'spend'), gte(creditTransaction.createdAt, new Date(now.getTime() - ms))));
	const [[hour], [day]] = await Promise.all([since(3600_000), since(86_400_000)]);
	// What running resources cost right now (per hour), from their open segments.
	const open = await db.select().from(usageSegment).where(and(eq(usageSegment.organizationId, organizationId), isNull(usageSegment.endedAt)));
	const list = prices();
	const current = open.reduce((s, seg) => s + segmentCost(seg, 0, 3600_000, list), 0);
	return {
		last_hour_per_hour: burnPerHour(hour?.s ?? 0, 3600_000),
		last_day_per_hour: burnPerHour(day?.s ?? 0, 86_400_000),
		current_per_hour: toCredits(current),
		running_resources: open.length
	};
}

// ------------------------------------------------------------------------------------------
// Per resource

export async function segmentsOf(resourceType: string, resourceId: string): Promise<UsageSegment[]> {
	return db.select().from(usageSegment).where(and(eq(usageSegment.resourceType, resourceType), eq(usageSegment.resourceId, resourceId))).orderBy(asc(usageSegment.startedAt));
}

export async function meteredOf(organizationId: string, resourceId: string) {
	const rows = await db
		.select({ dimension: usageRecord.dimension, q: sql<number>`coalesce(sum(${usageRecord.quantityMilli}), 0)`.mapWith(Number), c: sql<number>`coalesce(sum(${usageRecord.creditsMicro}), 0)`.mapWith(Number) })
		.from(usageRecord)
		.where(and(eq(usageRecord.organizationId, organizationId), eq(usageRecord.resourceId, resourceId)))
		.groupBy(usageRecord.dimension);
	return { byDimension: Object.fromEntries(rows.map((r) => [r.dimension, { quantity: r.q / 1000, quantity_milli: r.q, credits_micro: r.c }])), creditsMicro: rows.reduce((s, r) => s + r.c, 0) };
}

export function toSegmentDto(s: UsageSegment) {
	return {
		id: s.id,
		resource_type: s.resourceType,
		resource_id: s.resourceId,
		size: s.size,
		cpu_count: s.cpuCount,
		memory_mb: s.memoryMb,
		storage_bytes: s.storageBytes,
		host_id: s.hostId,
		workspace_id: s.workspaceId,
		project_id: s.projectId,
		external_workspace_id: s.externalWorkspaceId,
		external_project_id: s.externalProjectId,
		external_user_id: s.externalUserId,
		started_at: s.startedAt.toISOString(),
		ended_at: s.endedAt?.toISOString() ?? null,
		metered_until: s.meteredUntil.toISOString()
	};
}

/** `GET /sandboxes/{id}/usage` (contract §2.3 plus Hangar's credits and segments). */
export async function sandboxUsage(row: Sandbox, extra: { runtimeSec: number; timeoutRemainingMs: number | null; activeCpuMs: number | null }) {
	const now = Date.now();
	const segs = await segmentsOf('sandbox', row.id);
	const metered = await meteredOf(row.organizationId, row.id);
	const list = prices();
	let vcpuMs = 0;
	let memMbMs = 0;
	let pending = 0;
	for (const s of segs) {
		const end = s.endedAt?.getTime() ?? now;
		const ms = Math.max(0, end - s.startedAt.getTime());
		vcpuMs += s.cpuCount * ms;
		memMbMs += s.memoryMb * ms;
		pending += segmentCost(s, s.meteredUntil.getTime(), Math.max(s.meteredUntil.getTime(), end), list);
	}
	const estimated = metered.creditsMicro + pending;
	return {
		sandbox_id: row.id,
		state: row.state,
		runtime_sec: extra.runtimeSec,
		provisioned_vcpu_ms: vcpuMs,
		provisioned_memory_mb_ms: memMbMs,
		creation_count: 1,
		active_cpu_ms: extra.activeCpuMs,
		network_ingress_bytes: null,
		network_egress_bytes: null,
		measurement_status: {
			active_cpu: extra.activeCpuMs === null ? 'unavailable' : 'measured',
			network: 'not_measured',
			provisioned_resources: 'measured'
		},
		estimated_cost_cents: microToCents(estimated),
		credits: toCredits(estimated),
		credits_micro: estimated,
		metered_credits_micro: metered.creditsMicro,
		metered: metered.byDimension,
		size: row.size,
		timeout_sec: row.timeoutSec,
		timeout_remaining_ms: extra.timeoutRemainingMs,
		segments: segs.map(toSegmentDto)
	};
}

// ------------------------------------------------------------------------------------------
// Raw records (for reconciliation by customers and tests) and sessions (segments).

export async function listRecords(organizationId: string, from: Date, to: Date, q: Partial<UsageQuery>, after: number, limit: number) {
	const rows = await db
		.select()
		.from(usageRecord)
		.where(and(recordFilters(organizationId, from, to, q), gt(usageRecord.id, after)))
		.orderBy(asc(usageRecord.id))
		.limit(limit);
	return rows.map((r) => ({
		id: String(r.id),
		segment_id: r.segmentId,
		resource_type: r.resourceType,
		resource_id: r.resourceId,
		dimension: r.dimension,
		minute: r.minute.toISOString(),
		quantity: r.quantityMilli / 1000,
		quantity_milli: r.quantityMilli,
		credits: toCredits(r.creditsMicro),
		credits_micro: r.creditsMicro,
		workspace_id: r.workspaceId,
		project_id: r.projectId,
		external_workspace_id: r.externalWorkspaceId,
		external_project_id: r.externalProjectId,
		external_user_id: r.externalUserId
	}));
}

export async function listSessions(organizationId: string, q: { resource_id?: string; resource_type?: string; from: Date; to: Date }, after: string | null, limit: number) {
	const where: SQL[] = [eq(usageSegment.organizationId, organizationId), lt(usageSegment.startedAt, q.to), sql`coalesce(${usageSegment.endedAt}, now()) >= ${q.from.toISOString()}::timestamptz`];
	if (q.resource_id) where.push(eq(usageSegment.resourceId, q.resource_id));
	if (q.resource_type) where.push(eq(usageSegment.resourceType, q.resource_type));
	if (after) where.push(sql`(${usageSegment.startedAt}, ${usageSegment.id}) > (select started_at, id from usage_segment where id = ${after}::uuid)`);
	const rows = await db.select().from(usageSegment).where(and(...where)).orderBy(asc(usageSegment.startedAt), asc(usageSegment.id)).limit(limit);
	return rows;
}

export { MICRO };
