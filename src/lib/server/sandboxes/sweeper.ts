import { and, eq, isNotNull, lt, or, sql } from 'drizzle-orm';
import { db } from '../db';
import { sandbox, type Sandbox } from '../db/schema';
import { env } from '../env';
import { onStart, onStop } from '../startup';
import { destroySandbox, pauseSandbox } from './service';
import { transition } from './lifecycle';

/**
 * Enforces timeouts from the control plane: a running sandbox past `expires_at` or idle past
 * `idle_timeout_sec` is paused when persistent and destroyed otherwise; a paused sandbox that is
 * not persistent is destroyed at its deadline. Safe on several replicas (transitions are conditional).
 */
export async function sweepOnce(now = new Date()): Promise<number> {
	const due = await db
		.select()
		.from(sandbox)
		.where(
			and(
				eq(sandbox.alwaysOn, false),
				or(
					and(eq(sandbox.state, 'running'), isNotNull(sandbox.expiresAt), lt(sandbox.expiresAt, now)),
					and(
						eq(sandbox.state, 'running'),
						isNotNull(sandbox.idleTimeoutSec),
						sql`${sandbox.lastActivityAt} + make_interval(secs => ${sandbox.idleTimeoutSec}) < ${now.toISOString()}::timestamptz`
					),
					and(eq(sandbox.state, 'paused'), eq(sandbox.persistent, false), isNotNull(sandbox.expiresAt), lt(sandbox.expiresAt, now))
				)
			)
		)
		.limit(200);
	for (const row of due) await expire(row, now).catch((e) => console.error(`expiring sandbox ${row.id} failed`, e));

	// A boot that never finished (host vanished mid-create) does not stay provisioning forever.
	const stuck = await db
		.select({ id: sandbox.id })
		.from(sandbox)
		.where(and(eq(sandbox.state, 'provisioning'), lt(sandbox.createdAt, new Date(now.getTime() - 45 * 60_000))));
	for (const r of stuck) await transition(r.id, 'error', { from: ['provisioning'], patch: { lastError: 'the sandbox did not start in time' } });
	return due.length;
}

async function expire(row: Sandbox, now: Date) {
	const idle = row.state === 'running' && row.idleTimeoutSec != null && row.lastActivityAt.getTime() + row.idleTimeoutSec * 1000 < now.getTime();
	const reason = idle ? 'idle_timeout' : 'timeout';
	if (row.state === 'running' && row.persistent) await pauseSandbox(null, row, reason);
	else await destroySandbox(null, row, reason);
}

let timer: NodeJS.Timeout | null = null;
let running = false;
onStart(() => {
	timer = setInterval(async () => {
		if (running) return;
		running = true;
		try {
			await sweepOnce();
		} catch (e) {
			console.error('sweep failed', e);
		} finally {
			running = false;
		}
	}, env.HANGAR_SWEEP_INTERVAL_MS);
	timer.unref();
});
onStop(() => {
	if (timer) clearInterval(timer);
});
