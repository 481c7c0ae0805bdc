// Snapshots (a sandbox's writable layer, kept on the host that took it), restore and fork.
//
// Create: row `creating` → agent `snapshot.create` (processes frozen for the copy) → `ready` with
// its size, or `failed`. The request waits up to a few seconds so small snapshots come back ready.
// Restore / fork: a NEW sandbox placed on the snapshot's host, booted with `from_snapshot` (the
// agent seeds its writable layer before boot). Snapshots outlive their sandbox; they are removed
// only by DELETE. Quotas per organization: HANGAR_SNAPSHOT_MAX_COUNT (default 100) and
// HANGAR_SNAPSHOT_MAX_BYTES (default 20 GiB; checked before each capture).
import { and, count, desc, eq, inArray, isNull, lt, sum } from 'drizzle-orm';
import type { SnapshotInfo } from '$lib/protocol';
import { db } from '../db';
import { host, sandbox, snapshot, type Sandbox, type Snapshot } from '../db/schema';
import { audit, auditActorOf } from '../audit/service';
import { emit } from '../events/service';
import { agentCall } from '../hosts/connections';
import { HostUnavailableError } from '../hosts/hub';
import { ApiError, notFound, validationError } from '../http/errors';
import type { Page } from '../http/pagination';
import { agentFailure, createSandbox, sandboxEnv, type Actor } from '../sandboxes/service';
import type { SandboxCreateInput } from '../sandboxes/schemas';

export const SNAPSHOT_KIND = 'filesystem';
export const SNAPSHOT_NOTE = 'The writable filesystem layer is captured (files under /workspace, /home/user, /tmp); running processes and memory are not kept — start them again after a restore or fork.';
const WAIT_FOR_READY_MS = 5_000;

function parseBytes(v: string | undefined, dflt: number): number {
	if (!v) return dflt;
	const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(v);
	if (!m) return dflt;
	const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
	return Math.floor(Number(m[1]) * mult);
}

export function snapshotQuota() {
	return {
		maxCount: Number(process.env.HANGAR_SNAPSHOT_MAX_COUNT) > 0 ? Number(process.env.HANGAR_SNAPSHOT_MAX_COUNT) : 100,
		maxBytes: parseBytes(process.env.HANGAR_SNAPSHOT_MAX_BYTES, 20 * 1024 ** 3)
	};
}

export function toSnapshotDto(s: Snapshot) {
	const updated = s.deletedAt ?? s.readyAt ?? s.createdAt;
	return {
		id: s.id,
		sandbox_id: s.sandboxId,
		status: s.deletedAt ? 'deleted' : s.status,
		kind: s.kind,
		processes_kept: false,
		note: SNAPSHOT_NOTE,
		comment: s.comment,
		size_bytes: s.sizeBytes,
		template_id: s.templateId,
		size: s.size,
		host_id: s.hostId,
		content_hash: s.contentHash,
		error: s.error,
		workspace_id: s.workspaceId,
		project_id: s.projectId,
		created_at: s.createdAt.toISOString(),
		ready_at: s.readyAt?.toISOString() ?? null,
		updated_at: updated.toISOString(),
		deleted_at: s.deletedAt?.toISOString() ?? null
	};
}
export type SnapshotDto = ReturnType<typeof toSnapshotDto>;

const live = (orgId: string) => and(eq(snapshot.organizationId, orgId), isNull(snapshot.deletedAt));

export async function listSnapshots(orgId: string, page: Page, sandboxId?: string) {
	const where = sandboxId ? and(live(orgId), eq(snapshot.sandboxId, sandboxId)) : live(orgId);
	const [rows, [{ n }]] = await Promise.all([
		db.select().from(snapshot).where(where).orderBy(desc(snapshot.createdAt), desc(snapshot.id)).limit(page.pageSize).offset(page.offset),
		db.select({ n: count() }).from(snapshot).where(where)
	]);
	return { rows, total: n };
}

export async function getSnapshot(orgId: string, id: string): Promise<Snapshot> {
	const [row] = await db.select().from(snapshot).where(and(live(orgId), eq(snapshot.id, id)));
	if (!row) throw notFound('snapshot');
	return row;
}

export async function snapshotUsage(orgId: string): Promise<{ count: number; bytes: number }> {
	const [r] = await db
		.select({ n: count(), bytes: sum(snapshot.sizeBytes) })
		.from(snapshot)
		.where(and(live(orgId), inArray(snapshot.status, ['creating', 'ready'])));
	return { count: Number(r?.n ?? 0), bytes: Number(r?.bytes ?? 0) };
}

async function checkQuota(orgId: string) {
	const q = snapshotQuota();
	const u = await snapshotUsage(orgId);
	if (u.count >= q.maxCount)
		throw new ApiError(409, 'SNAPSHOT_QUOTA_EXCEEDED', `the organization has ${u.count} snapshots, the limit is ${q.maxCount}; delete some first`, {
			limit: 'count',
			max_count: q.maxCount,
			count: u.count,
			max_bytes: q.maxBytes,
			bytes: u.bytes
		});
	if (u.bytes >= q.maxBytes)
		throw new ApiError(409, 'SNAPSHOT_QUOTA_EXCEEDED', `the organization's snapshots use ${u.bytes} bytes, the limit is ${q.maxBytes}; delete some first`, {
			limit: 'bytes',
			max_count: q.maxCount,
			count: u.count,
			max_bytes: q.maxBytes,
			bytes: u.bytes
		});
}

function assertSnapshottable(row: Sandbox) {
	if (row.state === 'destroyed') throw new ApiError(400, 'SANDBOX_DESTROYED', 'the sandbox is destroyed');
	if (row.state !== 'running' && row.state !== 'paused')
		throw new ApiError(409, 'SANDBOX_NOT_RUNNING', `the sandbox is ${row.state}`, { state: row.state });
	if (!row.hostId) throw new ApiError(409, 'SANDBOX_NOT_RUNNING', 'the sandbox has no host');
}

async function finish(row: Snapshot, sb: Sandbox, info: SnapshotInfo): Promise<Snapshot> {
	const [done] = await db
		.update(snapshot)
		.set({ status: 'ready', sizeBytes: info.size_bytes, contentHash: info.content_hash, readyAt: new Date() })
		.where(and(eq(snapshot.id, row.id), eq(snapshot.status, 'creating')))
		.returning();
	await emit({
		organizationId: row.organizationId,
		workspaceId: row.workspaceId,
		type: 'sandbox.snapshot.ready',
		resourceType: 'sandbox',
		resourceId: sb.id,
		data: {
			sandbox_id: sb.id,
			snapshot_id: row.id,
			size_bytes: info.size_bytes,
			stored_bytes: info.stored_bytes,
			files: info.files,
			freeze_ms: info.freeze_ms,
			duration_ms: info.duration_ms,
			kind: info.kind
		}
	});
	return done ?? row;
}

async function fail(row: Snapshot, sb: Sandbox, err: unknown): Promise<Snapshot> {
	const message = agentFailure(err).message;
	const [failed] = await db
		.update(snapshot)
		.set({ status: 'failed', error: message })
		.where(and(eq(snapshot.id, row.id), eq(snapshot.status, 'creating')))
		.returning();
	await emit({ organizationId: row.organizationId, workspaceId: row.workspaceId, type: 'sandbox.snapshot.failed', resourceType: 'sandbox', resourceId: sb.id, data: { sandbox_id: sb.id, snapshot_id: row.id, error: message } });
	return failed ?? row;
}

/** Takes a snapshot; answers `ready` when it finishes within a few seconds, else `creating`. */
export async function createSnapshot(actor: Actor, sb: Sandbox, input: { comment?: string }, opts: { waitMs?: number; implicit?: boolean } = {}): Promise<Snapshot> {
	assertSnapshottable(sb);
	await checkQuota(sb.organizationId);
	const [row] = await db
		.insert(snapshot)
		.values({
			organizationId: sb.organizationId,
			workspaceId: sb.workspaceId,
			projectId: sb.projectId,
			sandboxId: sb.id,
			hostId: sb.hostId,
			createdBy: actor.principal.userId,
			templateId: sb.templateId,
			size: sb.size,
			status: 'creating',
			kind: SNAPSHOT_KIND,
			comment: input.comment ?? null
		})
		.returning();
	await emit({
		organizationId: sb.organizationId,
		workspaceId: sb.workspaceId,
		type: 'sandbox.snapshot.created',
		resourceType: 'sandbox',
		resourceId: sb.id,
		data: { sandbox_id: sb.id, snapshot_id: row.id, comment: row.comment, implicit: !!opts.implicit }
	});
	if (!opts.implicit)
		await audit(auditActorOf(actor), { action: 'snapshot.created', resourceType: 'snapshot', resourceId: row.id, workspaceId: sb.workspaceId, metadata: { sandbox_id: sb.id } });
	const job = agentCall(sb.hostId!, 'snapshot.create', { id: row.id, sandbox_id: sb.id }, { timeoutMs: 30 * 60_000 }).then(
		(info) => finish(row, sb, info),
		(err) => fail(row, sb, err)
	);
	const waitMs = opts.waitMs ?? WAIT_FOR_READY_MS;
	const settled = await Promise.race([job, new Promise<null>((r) => setTimeout(() => r(null), waitMs).unref())]);
	return settled ?? row;
}

/** Waits while a snapshot is `creating` (up to timeoutMs). */
async function waitReady(orgId: string, id: string, timeoutMs = 120_000): Promise<Snapshot> {
	const end = Date.now() + timeoutMs;
	let delay = 50;
	for (;;) {
		const s = await getSnapshot(orgId, id);
		if (s.status !== 'creating' || Date.now() > end) return s;
		await new Promise((r) => setTimeout(r, delay));
		delay = Math.min(1000, delay * 2);
	}
}

export async function deleteSnapshot(actor: Actor, s: Snapshot): Promise<Snapshot> {
	if (s.hostId) {
		const [h] = await db.select({ status: host.status }).from(host).where(eq(host.id, s.hostId));
		if (h && h.status !== 'revoked') {
			try {
				await agentCall(s.hostId, 'snapshot.delete', { id: s.id }, { timeoutMs: 120_000 });
			} catch (err) {
				if (err instanceof HostUnavailableError)
					throw new ApiError(502, 'AGENT_UNAVAILABLE', 'the host that stores this snapshot is not connected; retry when it is back');
				throw agentFailure(err);
			}
		}
	}
	const [row] = await db.update(snapshot).set({ status: 'deleted', deletedAt: new Date() }).where(eq(snapshot.id, s.id)).returning();
	await emit({ organizationId: s.organizationId, workspaceId: s.workspaceId, type: 'sandbox.snapshot.deleted', resourceType: 'sandbox', resourceId: s.sandboxId, data: { sandbox_id: s.sandboxId, snapshot_id: s.id } });
	await audit(auditActorOf(actor), { action: 'snapshot.deleted', resourceType: 'snapshot', resourceId: s.id, workspaceId: s.workspaceId, metadata: { sandbox_id: s.sandboxId } });
	return row;
}

export interface RestoreOptions {
	name?: string;
	metadata?: Record<string, unknown>;
	timeout_sec?: number;
	template_id?: string;
	/** The sandbox the request was made on (forks copy its settings). */
	source?: Sandbox | null;
}

/** Boots a NEW sandbox from a snapshot, on the host that stores it. */
export async function restoreSnapshot(actor: Actor, snapId: string, o: RestoreOptions = {}): Promise<Sandbox> {
	const orgId = actor.principal.organizationId;
	const snap = await waitReady(orgId, snapId);
	if (snap.status !== 'ready')
		throw new ApiError(409, 'SNAPSHOT_NOT_READY', snap.status === 'failed' ? `the snapshot failed: ${snap.error ?? 'unknown error'}` : `the snapshot is ${snap.status}`, { status: snap.status });
	if (!snap.hostId) throw new ApiError(409, 'region_unavailable', 'the host that stored this snapshot is gone');
	if (o.template_id && o.template_id !== snap.templateId)
		throw validationError(`the snapshot was taken from template ${snap.templateId}`, { template_id: [`must be ${snap.templateId} (the snapshot's template)`] });
	// Settings come from the sandbox the snapshot was taken from when it still exists.
	let src = o.source ?? null;
	if (!src || src.id !== snap.sandboxId) {
		const [r] = snap.sandboxId ? await db.select().from(sandbox).where(and(eq(sandbox.id, snap.sandboxId), eq(sandbox.organizationId, orgId))) : [];
		src = r ?? src;
	}
	const input: SandboxCreateInput = {
		template_id: snap.templateId,
		size: snap.size as SandboxCreateInput['size'],
		...(snap.workspaceId ? { workspace_id: snap.workspaceId } : {}),
		...(snap.projectId ? { project_id: snap.projectId } : {}),
		...(o.name ? { name: o.name } : {}),
		metadata: o.metadata ?? {},
		...(src
			? {
					network: src.network,
					persistent: src.persistent,
					timeout_sec: o.timeout_sec ?? src.timeoutSec,
					...(src.idleTimeoutSec ? { idle_timeout_sec: src.idleTimeoutSec } : {}),
					env: sandboxEnv(src),
					tags: src.tags
				}
			: { ...(o.timeout_sec ? { timeout_sec: o.timeout_sec } : {}) })
	} as SandboxCreateInput;
	const row = await createSandbox(actor, input, {
		hostId: snap.hostId,
		fromSnapshot: snap.id,
		eventData: { from_snapshot_id: snap.id, source_sandbox_id: snap.sandboxId }
	});
	if (snap.sandboxId && src)
		await emit({
			organizationId: orgId,
			workspaceId: src.workspaceId,
			type: 'sandbox.snapshot.restored',
			resourceType: 'sandbox',
			resourceId: snap.sandboxId,
			data: { sandbox_id: snap.sandboxId, snapshot_id: snap.id, new_sandbox_id: row.id }
		});
	return row;
}

/**
 * Fork: a new sandbox from `snapshot_id`, or from the live sandbox (an implicit snapshot is taken
 * first and removed once the fork has booted, since the fork does not depend on it).
 */
export async function forkSandbox(actor: Actor, sb: Sandbox, input: { snapshot_id?: string; timeout_sec?: number; name?: string; metadata?: Record<string, unknown>; template_id?: string }): Promise<Sandbox> {
	if (input.snapshot_id) return restoreSnapshot(actor, input.snapshot_id, { ...input, source: sb });
	const snap = await createSnapshot(actor, sb, { comment: `fork of ${sb.id}` }, { waitMs: 120_000, implicit: true });
	try {
		return await restoreSnapshot(actor, snap.id, { ...input, source: sb });
	} finally {
		// The fork has its own copy now: drop the implicit snapshot off the response path.
		void getSnapshot(sb.organizationId, snap.id)
			.then((s) => deleteSnapshot(actor, s))
			.catch((e) => console.error('removing the implicit fork snapshot failed', e));
	}
}

/** Destroyed sandboxes keep their snapshots; this only reports how many (for the UI). */
export async function countForSandbox(orgId: string, sandboxId: string): Promise<number> {
	const [r] = await db.select({ n: count() }).from(snapshot).where(and(live(orgId), eq(snapshot.sandboxId, sandboxId)));
	return Number(r?.n ?? 0);
}

/** Marks snapshots stuck in `creating` (their request's process died) as failed. */
export async function failStaleSnapshots(olderThanMs = 60 * 60_000): Promise<number> {
	const rows = await db
		.update(snapshot)
		.set({ status: 'failed', error: 'the capture did not finish' })
		.where(and(eq(snapshot.status, 'creating'), lt(snapshot.createdAt, new Date(Date.now() - olderThanMs))))
		.returning({ id: snapshot.id });
	return rows.length;
}
