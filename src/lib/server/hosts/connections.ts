import { and, eq, inArray } from 'drizzle-orm';
import type { Events, Hello, MethodName, ParamsOf, ProgressOf, ResultOf } from '$lib/protocol';
import { AGENT_WS_PATH } from '$lib/protocol';
import { db } from '../db';
import { sandbox } from '../db/schema';
import { registerWsRoute } from '../ws';
import { onStop } from '../startup';
import { emit } from '../events/service';
import { transition } from '../sandboxes/lifecycle';
import { createHub, type HubCallOptions } from './hub';
import { hostByKey, markOffline, recordHeartbeat, recordHello, updateHostTemplates } from './service';

export const HOST_OFFLINE_REASON = 'host offline';
const OFFLINE_GRACE_MS = 30_000;

type TemplateListener = (hostId: string, name: 'template.progress' | 'template.ready' | 'template.failed', data: unknown) => void;
const templateListeners = new Set<TemplateListener>();
export function onTemplateEvent(l: TemplateListener): () => void {
	templateListeners.add(l);
	return () => templateListeners.delete(l);
}

const offlineTimers = new Map<string, NodeJS.Timeout>();

export const hub = createHub({
	async authenticate(token) {
		const h = await hostByKey(token);
		return h ? { hostId: h.id } : null;
	},
	async onHello(hostId, hello) {
		clearTimeout(offlineTimers.get(hostId));
		offlineTimers.delete(hostId);
		await recordHello(hostId, hello);
		return { destroy: await reconcile(hostId, hello) };
	},
	async onHeartbeat(hostId, usage) {
		await recordHeartbeat(hostId, usage);
	},
	onEvent(hostId, name, data) {
		handleEvent(hostId, name as keyof Events, data).catch((e) => console.error(`agent event ${name} failed`, e));
	},
	onDisconnect(hostId) {
		markOffline(hostId).catch((e) => console.error('markOffline failed', e));
		clearTimeout(offlineTimers.get(hostId));
		const t = setTimeout(() => {
			offlineTimers.delete(hostId);
			if (!hub.isConnected(hostId)) failHostSandboxes(hostId).catch((e) => console.error('offline sweep failed', e));
		}, OFFLINE_GRACE_MS);
		t.unref();
		offlineTimers.set(hostId, t);
	}
});

registerWsRoute(AGENT_WS_PATH, (req, socket, head) => hub.handleUpgrade(req, socket, head));
onStop(() => hub.close());

export const isConnected = (hostId: string) => hub.isConnected(hostId);

/** Calls a method on a host's agent (typed by the protocol). */
export function agentCall<M extends MethodName>(hostId: string, method: M, params: ParamsOf<M>, opts?: HubCallOptions<ProgressOf<M>>): Promise<ResultOf<M>> {
	return hub.call(hostId, method, params, opts);
}

/**
 * After a reconnect: rows whose sandbox the agent no longer runs become `error`; sandboxes the
 * agent runs that the control plane does not know (or destroyed) are destroyed by the agent;
 * sandboxes marked lost while the host was offline come back.
 */
async function reconcile(hostId: string, hello: Hello): Promise<string[]> {
	const reported = new Map(hello.sandboxes.map((s) => [s.id, s]));
	const rows = await db
		.select()
		.from(sandbox)
		.where(and(eq(sandbox.hostId, hostId), inArray(sandbox.state, ['provisioning', 'running', 'paused', 'error'])));
	const known = new Map(rows.map((r) => [r.id, r]));
	const destroy: string[] = [];
	for (const id of reported.keys()) {
		const row = known.get(id);
		if (!row || (row.state === 'error' && row.lastError !== HOST_OFFLINE_REASON)) destroy.push(id);
	}
	const now = Date.now();
	for (const row of rows) {
		const live = reported.get(row.id);
		if (live) {
			if (row.state === 'error' && row.lastError === HOST_OFFLINE_REASON) {
				await transition(row.id, live.state === 'paused' ? 'paused' : 'running', {
					from: ['error'],
					patch: { lastError: null },
					eventType: 'sandbox.recovered',
					eventData: { reason: 'host reconnected' }
				});
			}
			continue;
		}
		// A create in flight may not be on the agent yet.
		if (row.state === 'provisioning' && now - row.createdAt.getTime() < 120_000) continue;
		if (row.state === 'error') continue;
		await transition(row.id, 'error', {
			patch: { lastError: 'the sandbox was lost when its host agent restarted' },
			eventData: { reason: 'lost on agent restart' }
		});
	}
	// Paused on the agent's side but the row says destroyed etc. are covered by `destroy`.
	return destroy;
}

async function failHostSandboxes(hostId: string) {
	const rows = await db
		.select({ id: sandbox.id })
		.from(sandbox)
		.where(and(eq(sandbox.hostId, hostId), inArray(sandbox.state, ['provisioning', 'running', 'paused'])));
	for (const r of rows) {
		await transition(r.id, 'error', { patch: { lastError: HOST_OFFLINE_REASON }, eventData: { reason: HOST_OFFLINE_REASON } });
	}
}

async function handleEvent(hostId: string, name: keyof Events, data: unknown) {
	switch (name) {
		case 'sandbox.exited': {
			const d = data as Events['sandbox.exited'];
			await transition(d.sandbox_id, 'error', {
				from: ['running', 'paused', 'provisioning'],
				patch: { lastError: `sandbox exited: ${d.reason}` },
				eventData: { reason: d.reason }
			});
			return;
		}
		case 'process.exited': {
			const d = data as Events['process.exited'];
			const [row] = await db.select().from(sandbox).where(eq(sandbox.id, d.sandbox_id));
			if (!row) return;
			await emit({
				organizationId: row.organizationId,
				workspaceId: row.workspaceId,
				type: 'sandbox.process.exited',
				resourceType: 'sandbox',
				resourceId: row.id,
				data: { sandbox_id: row.id, pid: d.pid, name: d.name, exit_code: d.exit_code, signal: d.signal ?? null }
			});
			// A computer service's run: supervise it (dynamic import: that module depends on this one).
			if (d.name.startsWith('service:')) {
				const { onServiceProcessExited } = await import('../computers/services');
				await onServiceProcessExited(d);
			}
			return;
		}
		case 'pty.exited': {
			// Dynamic import: the terminals service depends on this module.
			const { onPtyExited } = await import('../terminals/service');
			await onPtyExited(data as Events['pty.exited']);
			return;
		}
		case 'template.progress':
		case 'template.ready':
		case 'template.failed': {
			const d = data as { id: string };
			if (name !== 'template.progress') await updateHostTemplates(hostId, d.id, name === 'template.ready' ? 'ready' : 'failed');
			for (const l of templateListeners) l(hostId, name, data);
			return;
		}
	}
}
