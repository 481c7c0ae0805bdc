// The meter: a background pass every HANGAR_METER_INTERVAL_MS (default 5 s) on every replica.
//  1. reconcile — segments still open for resources that stopped (a crash between a state change
//     and its segment close) are closed at the resource's real stop time; running resources
//     without an open segment get one from the start of their run.
//  2. meter — per organization, in one transaction holding the organization's balance row lock:
//     usage records for each due segment (closed ones up to their end, open ones up to the last
//     whole minute), `metered_until` advanced conditionally, and one `spend` ledger row. The
//     unique (segment, minute, dimension) index makes a second count impossible, and because the
//     records, the cursor and the spend commit together nothing is lost or doubled on a crash.
//  3. enforce — an organization whose balance, less the not-yet-metered time of its running
//     resources, reaches zero is marked exhausted (`credits.exhausted`) and its running sandboxes
//     are paused (reason `insufficient_credits`); once credits are added (`credits.replenished`)
//     the sandboxes paused for credits resume.
//  4. budget alerts (`billing.budget_exceeded`, once per period) and credit expiries.
import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import { db } from '../db';
import { budgetAlert, creditBalance, event, sandbox, snapshot, usageRecord, usageSegment, type UsageSegment } from '../db/schema';
import { env } from '../env';
import { emit } from '../events/service';
import { onStart, onStop } from '../startup';
import { pauseSandbox, resumeSandbox } from '../sandboxes/service';
import { expireCredits, lockAccount, postIn } from './ledger';
import { MINUTE_MS, alertPeriod, meterSegment, meterUpTo, segmentCost, toCredits } from './math';
import { prices } from './prices';
import { SNAPSHOT_STORAGE, closeSegment, openSegment, resolvedTypes, resolverFor, sandboxSegmentInput, setMeterNudge, startStorage } from './segments';

/** At most this much of one segment is metered per pass (bounds a transaction after downtime). */
const MAX_SPAN_MS = 6 * 3600_000;
/** How far back reconciliation opens a missing segment (older runs predate metering). */
const BACKFILL_MS = 15 * 60_000;

// ------------------------------------------------------------------------------------------
// 1. Reconciliation

export async function reconcileSegments(): Promise<{ closed: number; opened: number }> {
	let closed = 0;
	let opened = 0;
	const types = resolvedTypes();
	if (types.length) {
		// Segments first, then the resources' state, so a state read is never older than the segment.
		const open = await db
			.select()
			.from(usageSegment)
			.where(and(isNull(usageSegment.endedAt), inArray(usageSegment.resourceType, types)))
			.limit(2000);
		const byType = new Map<string, UsageSegment[]>();
		for (const s of open) byType.set(s.resourceType, [...(byType.get(s.resourceType) ?? []), s]);
		for (const [type, segs] of byType) {
			const states = await resolverFor(type)!([...new Set(segs.map((s) => s.resourceId))]);
			for (const s of segs) {
				const st = states.get(s.resourceId);
				let end: Date | null = null;
				if (!st) end = s.meteredUntil;
				else if (!st.running) end = st.stoppedAt ?? s.meteredUntil;
				else if (st.since && st.since.getTime() > s.startedAt.getTime() + 1000) end = st.since;
				if (end && (await closeSegment(s.id, end))) closed++;
			}
		}
	}
	// Running sandboxes without an open segment (their transition's hook did not run).
	const missing = await db
		.select()
		.from(sandbox)
		.where(
			and(
				eq(sandbox.state, 'running'),
				sql`not exists (select 1 from ${usageSegment} u where u.resource_type = 'sandbox' and u.resource_id = ${sandbox.id}::text and u.ended_at is null)`
			)
		)
		.limit(500);
	for (const row of missing) {
		// A state change may have landed since the read: only open for rows still running.
		const [fresh] = await db.select().from(sandbox).where(and(eq(sandbox.id, row.id), eq(sandbox.state, 'running')));
		if (!fresh) continue;
		// A run that began long ago without a segment predates metering (an upgrade): count from
		// now rather than charge its past at once. A missed open after a crash is seconds old.
		const input = sandboxSegmentInput(fresh);
		if (!input.startedAt || Date.now() - input.startedAt.getTime() > BACKFILL_MS) input.startedAt = new Date();
		await openSegment(input);
		opened++;
	}
	// Ready snapshots without an open storage segment.
	const stored = await db
		// Flat columns: drizzle turned a nested object of left-joined columns into null here.
		.select({ snap: snapshot, extWorkspace: sandbox.externalWorkspaceId, extProject: sandbox.externalProjectId, extUser: sandbox.externalUserId })
		.from(snapshot)
		.leftJoin(sandbox, eq(sandbox.id, snapshot.sandboxId))
		.where(
			and(
				eq(snapshot.status, 'ready'),
				isNull(snapshot.deletedAt),
				sql`coalesce(${snapshot.sizeBytes}, 0) > 0`,
				sql`not exists (select 1 from ${usageSegment} u where u.resource_type = ${SNAPSHOT_STORAGE} and u.resource_id = ${snapshot.id}::text and u.ended_at is null)`
			)
		)
		.limit(500);
	for (const { snap, extWorkspace, extProject, extUser } of stored) {
		const since = snap.readyAt ?? snap.createdAt;
		await startStorage({
			organizationId: snap.organizationId,
			workspaceId: snap.workspaceId,
			projectId: snap.projectId,
			externalWorkspaceId: extWorkspace,
			externalProjectId: extProject,
			externalUserId: extUser,
			resourceType: SNAPSHOT_STORAGE,
			resourceId: snap.id,
			hostId: snap.hostId,
			bytes: snap.sizeBytes ?? 0,
			startedAt: Date.now() - since.getTime() > BACKFILL_MS ? new Date() : since
		});
		opened++;
	}
	return { closed, opened };
}

// ------------------------------------------------------------------------------------------
// 2. Metering

const dueCondition = (nowMs: number) => {
	const lastMinute = new Date(nowMs - (nowMs % MINUTE_MS)).toISOString();
	return or(
		and(isNull(usageSegment.endedAt), sql`${usageSegment.meteredUntil} < ${lastMinute}::timestamptz`),
		and(isNotNull(usageSegment.endedAt), sql`${usageSegment.meteredUntil} < ${usageSegment.endedAt}`)
	)!;
};

export interface OrgMeterResult {
	organizationId: string;
	records: number;
	creditsMicro: number;
}

/** Meters one organization's due segments in one transaction; returns what was charged. */
export async function meterOrganization(organizationId: string, now = new Date()): Promise<OrgMeterResult> {
	const nowMs = now.getTime();
	const list = prices();
	return db.transaction(async (tx) => {
		await lockAccount(tx, organizationId);
		const segs = await tx
			.select()
			.from(usageSegment)
			.where(and(eq(usageSegment.organizationId, organizationId), dueCondition(nowMs)))
			.orderBy(asc(usageSegment.startedAt))
			.limit(500)
			.for('update');
		const records: (typeof usageRecord.$inferInsert)[] = [];
		let total = 0;
		let from = Infinity;
		let to = 0;
		for (const s of segs) {
			const start = s.meteredUntil.getTime();
			let upTo = meterUpTo(s.endedAt?.getTime() ?? null, nowMs);
			upTo = Math.min(upTo, start + MAX_SPAN_MS);
			if (upTo <= start) continue;
			for (const r of meterSegment(s, start, upTo, list)) {
				records.push({
					organizationId: s.organizationId,
					segmentId: s.id,
					workspaceId: s.workspaceId,
					projectId: s.projectId,
					externalWorkspaceId: s.externalWorkspaceId,
					externalProjectId: s.externalProjectId,
					externalUserId: s.externalUserId,
					resourceType: s.resourceType,
					resourceId: s.resourceId,
					dimension: r.dimension,
					minute: new Date(r.minute),
					quantityMilli: r.quantityMilli,
					creditsMicro: r.creditsMicro
				});
				total += r.creditsMicro;
			}
			const moved = await tx
				.update(usageSegment)
				.set({ meteredUntil: new Date(upTo) })
				.where(and(eq(usageSegment.id, s.id), eq(usageSegment.meteredUntil, s.meteredUntil)))
				.returning({ id: usageSegment.id });
			if (!moved.length) throw new Error(`segment ${s.id} was metered concurrently`);
			from = Math.min(from, start);
			to = Math.max(to, upTo);
		}
		// Plain inserts: a (segment, minute, dimension) already recorded aborts the whole pass.
		for (let i = 0; i < records.length; i += 500) await tx.insert(usageRecord).values(records.slice(i, i + 500));
		if (total > 0) {
			await postIn(tx, {
				organizationId,
				kind: 'spend',
				amountMicro: -total,
				description: 'Compute and storage usage',
				metadata: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), segments: segs.length, records: records.length }
			});
		}
		return { organizationId, records: records.length, creditsMicro: total };
	});
}

export async function meterAll(now = new Date()): Promise<OrgMeterResult[]> {
	const orgs = await db
		.selectDistinct({ id: usageSegment.organizationId })
		.from(usageSegment)
		.where(dueCondition(now.getTime()))
		.limit(1000);
	const out: OrgMeterResult[] = [];
	for (const o of orgs) {
		try {
			out.push(await meterOrganization(o.id, now));
		} catch (e) {
			console.error(`metering organization ${o.id} failed (retried next pass)`, e);
		}
	}
	return out;
}

// ------------------------------------------------------------------------------------------
// 3. Enforcement

/** Credits (micro) used by open segments since they were last metered, priced as the meter will. */
async function pendingByOrg(now: Date): Promise<Map<string, number>> {
	const open = await db.select().from(usageSegment).where(isNull(usageSegment.endedAt));
	const list = prices();
	const out = new Map<string, number>();
	for (const s of open) {
		const cost = segmentCost(s, s.meteredUntil.getTime(), Math.max(s.meteredUntil.getTime(), now.getTime()), list);
		out.set(s.organizationId, (out.get(s.organizationId) ?? 0) + cost);
	}
	return out;
}

export async function enforceCredits(now = new Date()): Promise<void> {
	const pending = await pendingByOrg(now);
	const candidates = await db
		.select()
		.from(creditBalance)
		.where(or(isNotNull(creditBalance.exhaustedAt), sql`${creditBalance.balanceMicro} <= 0`, pending.size ? inArray(creditBalance.organizationId, [...pending.keys()]) : sql`false`));
	const enforce = env.HANGAR_CREDITS_ENFORCE === '1';
	for (const b of candidates) {
		const projected = b.balanceMicro - (pending.get(b.organizationId) ?? 0);
		try {
			if (projected <= 0) {
				if (!b.exhaustedAt) {
					const [won] = await db
						.update(creditBalance)
						.set({ exhaustedAt: now })
						.where(and(eq(creditBalance.organizationId, b.organizationId), isNull(creditBalance.exhaustedAt)))
						.returning({ id: creditBalance.organizationId });
					if (won) {
						await emit({
							organizationId: b.organizationId,
							type: 'credits.exhausted',
							resourceType: 'organization',
							resourceId: b.organizationId,
							data: { balance: toCredits(b.balanceMicro), balance_micro: b.balanceMicro, projected_balance: toCredits(projected), enforced: enforce }
						});
					}
				}
				if (enforce && pending.has(b.organizationId)) await pauseForCredits(b.organizationId);
			} else if (b.exhaustedAt && b.balanceMicro > 0) {
				const [won] = await db
					.update(creditBalance)
					.set({ exhaustedAt: null })
					.where(and(eq(creditBalance.organizationId, b.organizationId), eq(creditBalance.exhaustedAt, b.exhaustedAt)))
					.returning({ id: creditBalance.organizationId });
				if (won) {
					await emit({
						organizationId: b.organizationId,
						type: 'credits.replenished',
						resourceType: 'organization',
						resourceId: b.organizationId,
						data: { balance: toCredits(b.balanceMicro), balance_micro: b.balanceMicro }
					});
					if (enforce) await resumeAfterCredits(b.organizationId, b.exhaustedAt);
				}
			}
		} catch (e) {
			console.error(`credit enforcement for ${b.organizationId} failed`, e);
		}
	}
}

export const INSUFFICIENT_CREDITS_REASON = 'insufficient_credits';

async function pauseForCredits(organizationId: string) {
	const running = await db.select().from(sandbox).where(and(eq(sandbox.organizationId, organizationId), eq(sandbox.state, 'running')));
	for (const row of running) {
		await pauseSandbox(null, row, INSUFFICIENT_CREDITS_REASON).catch((e) => console.error(`pausing ${row.id} for credits failed (retried)`, e?.message ?? e));
	}
}

/** Resumes the sandboxes whose latest pause was for credits, since the organization ran out. */
async function resumeAfterCredits(organizationId: string, since: Date) {
	const paused = await db
		.select()
		.from(sandbox)
		.where(and(eq(sandbox.organizationId, organizationId), eq(sandbox.state, 'paused'), gte(sandbox.pausedAt, new Date(since.getTime() - 1000))));
	if (!paused.length) return;
	const pauses = await db
		.select({ resourceId: event.resourceId, data: event.data, id: event.id })
		.from(event)
		.where(and(eq(event.organizationId, organizationId), eq(event.type, 'sandbox.paused'), inArray(event.resourceId, paused.map((p) => p.id)), gte(event.createdAt, new Date(since.getTime() - 1000))))
		.orderBy(desc(event.id));
	const latest = new Map<string, unknown>();
	for (const p of pauses) if (p.resourceId && !latest.has(p.resourceId)) latest.set(p.resourceId, p.data?.reason);
	for (const row of paused) {
		if (latest.get(row.id) !== INSUFFICIENT_CREDITS_REASON) continue;
		await resumeSandbox(null, row).catch((e) => console.error(`resuming ${row.id} after credits failed`, e?.message ?? e));
	}
}

// ------------------------------------------------------------------------------------------
// 4. Budget alerts

/** Spend (micro) of an organization in [from, now) from its usage records. */
export async function spentSince(organizationId: string, from: Date): Promise<number> {
	const [r] = await db
		.select({ s: sql<number>`coalesce(sum(${usageRecord.creditsMicro}), 0)`.mapWith(Number) })
		.from(usageRecord)
		.where(and(eq(usageRecord.organizationId, organizationId), gte(usageRecord.minute, from)));
	return r?.s ?? 0;
}

export async function checkBudgetAlerts(now = new Date(), organizationIds?: string[]): Promise<number> {
	if (organizationIds && !organizationIds.length) return 0;
	const alerts = await db
		.select()
		.from(budgetAlert)
		.where(organizationIds ? inArray(budgetAlert.organizationId, organizationIds) : sql`true`)
		.limit(5000);
	let fired = 0;
	const spentCache = new Map<string, number>();
	for (const a of alerts) {
		const p = alertPeriod(a.period === 'day' ? 'day' : 'month', now);
		if (a.lastTriggeredPeriod === p.key) continue;
		const ck = `${a.organizationId}:${p.key}`;
		const spent = spentCache.get(ck) ?? (await spentSince(a.organizationId, p.start));
		spentCache.set(ck, spent);
		if (spent < a.thresholdMicro) continue;
		const [won] = await db
			.update(budgetAlert)
			.set({ lastTriggeredPeriod: p.key })
			.where(and(eq(budgetAlert.id, a.id), sql`${budgetAlert.lastTriggeredPeriod} is distinct from ${p.key}`))
			.returning({ id: budgetAlert.id });
		if (!won) continue;
		fired++;
		await emit({
			organizationId: a.organizationId,
			type: 'billing.budget_exceeded',
			resourceType: 'budget_alert',
			resourceId: a.id,
			data: {
				alert_id: a.id,
				name: a.name,
				period: a.period,
				period_key: p.key,
				period_start: p.start.toISOString(),
				threshold: toCredits(a.thresholdMicro),
				threshold_micro: a.thresholdMicro,
				spent: toCredits(spent),
				spent_micro: spent
			}
		});
	}
	return fired;
}

// ------------------------------------------------------------------------------------------
// The loop

let lastSlow = 0;

/** One full pass; exported for tests and for a manual nudge. */
export async function meterOnce(now = new Date()): Promise<OrgMeterResult[]> {
	await reconcileSegments();
	const charged = await meterAll(now);
	await enforceCredits(new Date());
	const slow = now.getTime() - lastSlow >= 60_000;
	await checkBudgetAlerts(now, slow ? undefined : charged.filter((c) => c.creditsMicro > 0).map((c) => c.organizationId));
	if (slow) {
		lastSlow = now.getTime();
		await expireCredits(now);
	}
	return charged;
}

let timer: NodeJS.Timeout | null = null;
let running = false;
let again = false;
let stopped = false;

async function pass() {
	if (running) {
		again = true;
		return;
	}
	running = true;
	try {
		do {
			again = false;
			await meterOnce();
		} while (again && !stopped);
	} catch (e) {
		console.error('meter pass failed', e);
	} finally {
		running = false;
	}
}

let nudgeTimer: NodeJS.Timeout | null = null;
setMeterNudge(() => {
	if (stopped || !timer || nudgeTimer) return;
	nudgeTimer = setTimeout(() => {
		nudgeTimer = null;
		void pass();
	}, 50);
	nudgeTimer.unref();
});

onStart(() => {
	// A bad HANGAR_PRICES stops the boot with its message rather than failing each pass.
	prices();
	stopped = false;
	timer = setInterval(() => void pass(), env.HANGAR_METER_INTERVAL_MS);
	timer.unref();
	// Catch up at boot: close what a crash left open and meter up to now.
	setTimeout(() => void pass(), 200).unref();
});
onStop(() => {
	stopped = true;
	if (timer) clearInterval(timer);
	timer = null;
});

