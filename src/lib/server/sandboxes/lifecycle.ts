import { and, eq, inArray, sql } from 'drizzle-orm';
import { db } from '../db';
import { sandbox, type Sandbox, type SandboxState } from '../db/schema';
import { emit } from '../events/service';
import { ApiError } from '../http/errors';
import { syncSandboxSegment } from '../billing/segments';

/** Allowed transitions: from-state → to-states. */
const ALLOWED: Record<SandboxState, SandboxState[]> = {
	provisioning: ['running', 'error', 'destroyed'],
	running: ['paused', 'destroyed', 'error'],
	paused: ['running', 'destroyed', 'error'],
	error: ['destroyed', 'running', 'paused'],
	destroyed: []
};

const EVENT: Record<SandboxState, string> = {
	provisioning: 'sandbox.provisioning',
	running: 'sandbox.started',
	paused: 'sandbox.paused',
	destroyed: 'sandbox.destroyed',
	error: 'sandbox.error'
};

export interface TransitionOptions {
	/** Only from these states (defaults to every state allowed to reach `to`). */
	from?: SandboxState[];
	patch?: Partial<typeof sandbox.$inferInsert>;
	eventType?: string;
	eventData?: Record<string, unknown>;
}

/**
 * The one way a sandbox changes state: a conditional update (so concurrent callers and replicas
 * cannot both win), then a durable event. Returns null when the sandbox was not in a from-state.
 */
export async function transition(id: string, to: SandboxState, opts: TransitionOptions = {}): Promise<Sandbox | null> {
	const from = opts.from ?? (Object.keys(ALLOWED) as SandboxState[]).filter((s) => ALLOWED[s].includes(to));
	const now = new Date();
	const patch: Partial<typeof sandbox.$inferInsert> = { ...opts.patch, state: to, updatedAt: now };
	if (to === 'destroyed') patch.destroyedAt = now;
	if (to === 'paused') patch.pausedAt = now;
	if (to === 'running') {
		patch.pausedAt = null;
		patch.runningSince = now;
	} else patch.runningSince = null;
	// Runtime accounting: close the running segment when leaving running.
	const [row] = await db
		.update(sandbox)
		.set({
			...patch,
			runtimeSecBefore: sql`${sandbox.runtimeSecBefore} + case when ${sandbox.runningSince} is not null
				then greatest(0, extract(epoch from (now() - ${sandbox.runningSince})))::int else 0 end`
		})
		.where(and(eq(sandbox.id, id), inArray(sandbox.state, from)))
		.returning();
	if (!row) return null;
	// Usage metering: entering running opens a segment, leaving it closes the open one.
	await syncSandboxSegment(row);
	await emit({
		organizationId: row.organizationId,
		workspaceId: row.workspaceId,
		type: opts.eventType ?? EVENT[to],
		resourceType: 'sandbox',
		resourceId: row.id,
		data: { sandbox_id: row.id, state: to, region: row.region, ...(opts.eventData ?? {}) }
	});
	return row;
}

/** Like transition, but a sandbox in the wrong state answers 409 with its current state. */
export async function mustTransition(current: Sandbox, to: SandboxState, opts: TransitionOptions = {}): Promise<Sandbox> {
	const row = await transition(current.id, to, opts);
	if (row) return row;
	const [now] = await db.select({ state: sandbox.state }).from(sandbox).where(eq(sandbox.id, current.id));
	throw new ApiError(409, 'SANDBOX_NOT_RUNNING', `the sandbox is ${now?.state ?? 'gone'} and cannot become ${to}`, {
		state: now?.state ?? null
	});
}
