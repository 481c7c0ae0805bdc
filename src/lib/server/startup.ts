import { initDb } from './db';
import { purgeExpiredKeys } from './http/idempotency';
import { purgeExpiredTickets } from './tickets/service';

type Hook = () => void | Promise<void>;
const startHooks: Hook[] = [];
const stopHooks: Hook[] = [];
let started: Promise<void> | null = null;

/** Services register what they run in the background; it starts once the database is ready. */
export function onStart(hook: Hook): void {
	startHooks.push(hook);
}
export function onStop(hook: Hook): void {
	stopHooks.push(hook);
}

/** Boots the control plane once per process: database and migrations, then background work. */
export function ensureStarted(): Promise<void> {
	started ??= (async () => {
		await initDb();
		// Import for their side effects (WebSocket routes, hub, sweepers).
		await import('./ws');
		await import('./background');
		for (const hook of startHooks) await hook();
		const purge = setInterval(() => {
			purgeExpiredKeys().catch((e) => console.error('idempotency purge failed', e));
			purgeExpiredTickets().catch((e) => console.error('ticket purge failed', e));
		}, 10 * 60_000);
		purge.unref();
	})();
	return started;
}

export async function shutdown(): Promise<void> {
	for (const hook of stopHooks.reverse()) {
		try {
			await hook();
		} catch (e) {
			console.error('shutdown hook failed', e);
		}
	}
}

// server.js calls these through globalThis so it does not import the bundle's internals.
(globalThis as Record<symbol, unknown>)[Symbol.for('hangar.server')] = { ensureStarted, shutdown };
