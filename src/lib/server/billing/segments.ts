// Usage segments: a stretch of time one resource ran (or held storage) at one shape. Generic by
// resource type so computers, runtime instances, builds and storage reuse the same functions:
//   openSegment / closeSegments   — compute resources (called by lifecycle transitions)
//   startStorage / stopStorage    — storage held (snapshots, artifacts): GiB-hours
// Segments are written durably; the meter (meter.ts) turns them into usage records, and its
// reconciliation closes segments left open by a crash at the resource's real stop time.
import { and, eq, inArray, isNull, max, sql } from 'drizzle-orm';
import { db } from '../db';
import { sandbox, snapshot, usageSegment, type Sandbox, type UsageSegment } from '../db/schema';

export interface Attribution {
	organizationId: string;
	workspaceId?: string | null;
	projectId?: string | null;
	externalWorkspaceId?: string | null;
	externalProjectId?: string | null;
	externalUserId?: string | null;
}

export interface OpenSegmentInput extends Attribution {
	resourceType: string;
	resourceId: string;
	hostId?: string | null;
	size?: string | null;
	cpuCount?: number;
	memoryMb?: number;
	storageBytes?: number;
	/** Defaults to now. */
	startedAt?: Date;
}

let nudge: () => void = () => {};
/** The meter registers how to be woken early (a segment closed, credits arrived). */
export function setMeterNudge(fn: () => void): void {
	nudge = fn;
}
export const nudgeMeter = () => nudge();

const lockKey = (type: string, id: string) => sql`select pg_advisory_xact_lock(hashtext(${`usage:${type}:${id}`}))`;

/**
 * Opens a segment for a resource (idempotent: an open segment with the same shape and start is
 * returned as is). Another open segment of the resource (a size change, a missed close) is closed
 * where the new one starts; a new segment never starts before the resource's last one ended.
 */
export async function openSegment(input: OpenSegmentInput): Promise<UsageSegment> {
	const startedAt = input.startedAt ?? new Date();
	return db.transaction(async (tx) => {
		await tx.execute(lockKey(input.resourceType, input.resourceId));
		const open = await tx
			.select()
			.from(usageSegment)
			.where(and(eq(usageSegment.resourceType, input.resourceType), eq(usageSegment.resourceId, input.resourceId), isNull(usageSegment.endedAt)));
		const same = open.find(
			(o) =>
				Math.abs(o.startedAt.getTime() - startedAt.getTime()) < 1000 &&
				(o.size ?? null) === (input.size ?? null) &&
				o.cpuCount === (input.cpuCount ?? 0) &&
				o.memoryMb === (input.memoryMb ?? 0) &&
				o.storageBytes === (input.storageBytes ?? 0)
		);
		if (same) return same;
		for (const o of open) {
			await tx
				.update(usageSegment)
				.set({ endedAt: sql`greatest(${usageSegment.meteredUntil}, ${usageSegment.startedAt}, ${startedAt.toISOString()}::timestamptz)` })
				.where(and(eq(usageSegment.id, o.id), isNull(usageSegment.endedAt)));
		}
		const [{ last }] = await tx
			.select({ last: max(usageSegment.endedAt) })
			.from(usageSegment)
			.where(and(eq(usageSegment.resourceType, input.resourceType), eq(usageSegment.resourceId, input.resourceId)));
		const lastEnded = last ? new Date(last as unknown as string) : null;
		const start = lastEnded && lastEnded.getTime() > startedAt.getTime() ? lastEnded : startedAt;
		const [row] = await tx
			.insert(usageSegment)
			.values({
				organizationId: input.organizationId,
				workspaceId: input.workspaceId ?? null,
				projectId: input.projectId ?? null,
				externalWorkspaceId: input.externalWorkspaceId ?? null,
				externalProjectId: input.externalProjectId ?? null,
				externalUserId: input.externalUserId ?? null,
				resourceType: input.resourceType,
				resourceId: input.resourceId,
				hostId: input.hostId ?? null,
				size: input.size ?? null,
				cpuCount: input.cpuCount ?? 0,
				memoryMb: input.memoryMb ?? 0,
				storageBytes: input.storageBytes ?? 0,
				startedAt: start,
				meteredUntil: start
			})
			.returning();
		return row;
	});
}

/** Closes the resource's open segments at `endedAt` (never before what is already metered). */
export async function closeSegments(resourceType: string, resourceId: string, endedAt: Date = new Date()): Promise<number> {
	const rows = await db
		.update(usageSegment)
		.set({ endedAt: sql`greatest(${usageSegment.meteredUntil}, ${usageSegment.startedAt}, ${endedAt.toISOString()}::timestamptz)` })
		.where(and(eq(usageSegment.resourceType, resourceType), eq(usageSegment.resourceId, resourceId), isNull(usageSegment.endedAt)))
		.returning({ id: usageSegment.id });
	if (rows.length) nudgeMeter();
	return rows.length;
}

/** Closes one segment (reconciliation), if it is still open. */
export async function closeSegment(id: string, endedAt: Date): Promise<boolean> {
	const rows = await db
		.update(usageSegment)
		.set({ endedAt: sql`greatest(${usageSegment.meteredUntil}, ${usageSegment.startedAt}, ${endedAt.toISOString()}::timestamptz)` })
		.where(and(eq(usageSegment.id, id), isNull(usageSegment.endedAt)))
		.returning({ id: usageSegment.id });
	return rows.length > 0;
}

// ------------------------------------------------------------------------------------------
// Storage (snapshots, artifacts, volumes): bytes held over time, metered in GiB-hours.

export interface StorageInput extends Attribution {
	/** e.g. snapshot_storage, artifact_storage (must end with `_storage`). */
	resourceType: string;
	resourceId: string;
	bytes: number;
	hostId?: string | null;
	startedAt?: Date;
}

/** Starts (or, with a new size, restarts) charging for stored bytes. */
export function startStorage(input: StorageInput): Promise<UsageSegment> {
	if (!input.resourceType.endsWith('_storage')) throw new Error(`storage resource types end with _storage (got ${input.resourceType})`);
	return openSegment({ ...input, storageBytes: Math.max(0, Math.round(input.bytes)), size: null, cpuCount: 0, memoryMb: 0 });
}

/** Stops charging for stored bytes (the snapshot or artifact was deleted). */
export function stopStorage(resourceType: string, resourceId: string, at: Date = new Date()): Promise<number> {
	return closeSegments(resourceType, resourceId, at);
}

// ------------------------------------------------------------------------------------------
// Sandboxes

/** When a sandbox that is not running stopped running, from its row. */
export function sandboxStopTime(row: Pick<Sandbox, 'state' | 'destroyedAt' | 'pausedAt' | 'updatedAt'>): Date {
	if (row.state === 'destroyed' && row.destroyedAt) return row.destroyedAt;
	if (row.state === 'paused' && row.pausedAt) return row.pausedAt;
	return row.updatedAt;
}

export function sandboxSegmentInput(row: Sandbox): OpenSegmentInput {
	return {
		organizationId: row.organizationId,
		workspaceId: row.workspaceId,
		projectId: row.projectId,
		externalWorkspaceId: row.externalWorkspaceId,
		externalProjectId: row.externalProjectId,
		externalUserId: row.externalUserId,
		resourceType: 'sandbox',
		resourceId: row.id,
		hostId: row.hostId,
		size: row.size,
		cpuCount: row.cpuCount,
		memoryMb: row.memoryMb,
		startedAt: row.runningSince ?? row.updatedAt
	};
}

/**
 * Called by lifecycle `transition()` after every state change: a sandbox entering `running`
 * opens a segment, leaving it closes the open one at the change's time. Failures are logged —
 * the meter's reconciliation repairs segments from the sandbox rows.
 */
export async function syncSandboxSegment(row: Sandbox): Promise<void> {
	try {
		if (row.state === 'running') await openSegment(sandboxSegmentInput(row));
		else await closeSegments('sandbox', row.id, sandboxStopTime(row));
	} catch (e) {
		console.error(`usage segment for sandbox ${row.id} not updated (reconciliation will repair it)`, e);
	}
}

// ------------------------------------------------------------------------------------------
// Reconciliation hooks per resource type: is the resource running, and since/until when?

export interface ResourceState {
	running: boolean;
	/** Start of its current run (running) or when it stopped (not running). */
	since: Date | null;
	stoppedAt: Date | null;
}
export type Resolver = (ids: string[]) => Promise<Map<string, ResourceState>>;
const resolvers = new Map<string, Resolver>();

/** Other resource types (computers, runtimes) register how to read their state. */
export function registerResourceResolver(resourceType: string, fn: Resolver): void {
	resolvers.set(resourceType, fn);
}
export const resolverFor = (t: string) => resolvers.get(t);
export const resolvedTypes = () => [...resolvers.keys()];

registerResourceResolver('sandbox', async (ids) => {
	const rows = ids.length
		? await db
				.select({ id: sandbox.id, state: sandbox.state, runningSince: sandbox.runningSince, destroyedAt: sandbox.destroyedAt, pausedAt: sandbox.pausedAt, updatedAt: sandbox.updatedAt })
				.from(sandbox)
				.where(inArray(sandbox.id, ids.filter((i) => /^[0-9a-f-]{36}$/i.test(i))))
		: [];
	return new Map(rows.map((r) => [r.id, { running: r.state === 'running', since: r.runningSince, stoppedAt: r.state === 'running' ? null : sandboxStopTime(r) }]));
});

// Snapshots hold storage from when they are ready until they are deleted (GiB-hours). The
// snapshot service may call startStorage/stopStorage itself; the meter's reconciliation also
// opens and closes these segments from the snapshot rows, so billing never depends on it.
export const SNAPSHOT_STORAGE = 'snapshot_storage';
registerResourceResolver(SNAPSHOT_STORAGE, async (ids) => {
	const valid = ids.filter((i) => /^[0-9a-f-]{36}$/i.test(i));
	const rows = valid.length
		? await db.select({ id: snapshot.id, status: snapshot.status, readyAt: snapshot.readyAt, deletedAt: snapshot.deletedAt }).from(snapshot).where(inArray(snapshot.id, valid))
		: [];
	return new Map(
		rows.map((r) => {
			const held = r.status === 'ready' && !r.deletedAt;
			return [r.id, { running: held, since: r.readyAt, stoppedAt: held ? null : (r.deletedAt ?? r.readyAt) }];
		})
	);
});
