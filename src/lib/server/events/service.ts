import { and, asc, eq, gt, lt, type SQL } from 'drizzle-orm';
import { db, dbKind, pgClient } from '../db';
import { event, type Event } from '../db/schema';
import { onStart, onStop } from '../startup';

/** An event as delivered to streams and webhooks. */
export interface HangarEvent {
	id: number;
	type: string;
	organization_id: string;
	workspace_id: string | null;
	resource_type: string | null;
	resource_id: string | null;
	data: Record<string, unknown>;
	ts: string;
}

export interface EmitInput {
	organizationId: string;
	workspaceId?: string | null;
	type: string;
	resourceType?: string;
	resourceId?: string | null;
	data: Record<string, unknown>;
}

type Listener = (e: HangarEvent) => void;
const listeners = new Set<Listener>();
const CHANNEL = 'hangar_events';

export function toHangarEvent(row: Event): HangarEvent {
	return {
		id: row.id,
		type: row.type,
		organization_id: row.organizationId,
		workspace_id: row.workspaceId,
		resource_type: row.resourceType,
		resource_id: row.resourceId,
		data: row.data,
		ts: row.createdAt.toISOString()
	};
}

/** Subscribes to every event published on any replica; returns the unsubscribe function. */
export function subscribe(listener: Listener): () => void {
	listeners.add(listener);
	return () => listeners.delete(listener);
}

function fanOut(e: HangarEvent) {
	for (const l of listeners) {
		try {
			l(e);
		} catch (err) {
			console.error('event listener failed', err);
		}
	}
}

/**
 * Publishes an event once: it is written to the durable log (its id orders it), then fanned out
 * in-process, and with Postgres announced to other replicas with NOTIFY.
 */
export async function emit(input: EmitInput): Promise<HangarEvent> {
	const [row] = await db
		.insert(event)
		.values({
			organizationId: input.organizationId,
			workspaceId: input.workspaceId ?? null,
			type: input.type,
			resourceType: input.resourceType ?? null,
			resourceId: input.resourceId ?? null,
			data: input.data
		})
		.returning();
	const e = toHangarEvent(row);
	seen(e.id);
	fanOut(e);
	if (dbKind === 'postgres' && pgClient) {
		pgClient.notify(CHANNEL, String(e.id)).catch((err) => console.error('notify failed', err));
	}
	return e;
}

/** Events after `afterId` for an organization (optionally one resource), oldest first. */
export async function eventsAfter(orgId: string, afterId: number, opts: { resourceId?: string; limit?: number } = {}) {
	const where: SQL[] = [eq(event.organizationId, orgId), gt(event.id, afterId)];
	if (opts.resourceId) where.push(eq(event.resourceId, opts.resourceId));
	const rows = await db.select().from(event).where(and(...where)).orderBy(asc(event.id)).limit(opts.limit ?? 1000);
	return rows.map(toHangarEvent);
}

// Ids published locally, so a NOTIFY echo from our own replica is not delivered twice.
const recent = new Set<number>();
function seen(id: number) {
	recent.add(id);
	if (recent.size > 10_000) {
		const first = recent.values().next().value;
		if (first !== undefined) recent.delete(first);
	}
}

const RETENTION_MS = 7 * 86_400_000;

onStart(async () => {
	if (dbKind === 'postgres' && pgClient) {
		const sub = await pgClient.listen(CHANNEL, async (payload) => {
			const id = Number(payload);
			if (!Number.isFinite(id) || recent.has(id)) return;
			seen(id);
			const [row] = await db.select().from(event).where(eq(event.id, id));
			if (row) fanOut(toHangarEvent(row));
		});
		onStop(() => sub.unlisten());
	}
	// Bounded retention of the durable log.
	const t = setInterval(() => {
		db.delete(event)
			.where(lt(event.createdAt, new Date(Date.now() - RETENTION_MS)))
			.catch((e) => console.error('event retention failed', e));
	}, 3600_000);
	t.unref();
});
