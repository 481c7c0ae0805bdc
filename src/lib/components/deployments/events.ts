import { ensureOk } from '$lib/components/sandbox/api';
import { readSse } from '$lib/components/sandbox/sse';

/** A `deployment.*` event as the organization's stream frames it (its data spread at the top). */
export interface DeploymentEvent {
	id: string;
	type: string;
	deployment_id: string | null;
	version_id: string | null;
	data: Record<string, unknown>;
}

/**
 * Follows `deployment.*` events live (no replay; session cookie), reconnecting with backoff until
 * the returned function is called: one deployment's (`GET /api/v1/deployments/{id}/events`) or,
 * without an id, the organization's (`GET /api/v1/events/stream?types=deployment.*`).
 */
export function followDeploymentEvents(deploymentId: string | null, onEvent: (e: DeploymentEvent) => void): () => void {
	const url = deploymentId ? `/api/v1/deployments/${encodeURIComponent(deploymentId)}/events?types=deployment.*` : '/api/v1/events/stream?types=deployment.*';
	const abort = new AbortController();
	const signal = abort.signal;
	void (async () => {
		let backoff = 1000;
		while (!signal.aborted) {
			try {
				const res = await fetch(url, {
					credentials: 'same-origin',
					headers: { accept: 'text/event-stream' },
					signal
				});
				await ensureOk(res);
				backoff = 1000;
				for await (const m of readSse(res.body!)) {
					const frame = parse(m.data);
					if (frame?.type.startsWith('deployment.')) onEvent(frame);
				}
			} catch {
				// reconnect below
			}
			if (signal.aborted) break;
			await new Promise<void>((resolve) => {
				const t = setTimeout(resolve, backoff);
				signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
			});
			backoff = Math.min(backoff * 2, 15_000);
		}
	})();
	return () => abort.abort();
}

function parse(raw: string): DeploymentEvent | null {
	try {
		const f = JSON.parse(raw) as Record<string, unknown> & { data?: Record<string, unknown> };
		if (typeof f?.type !== 'string') return null;
		const d = f.data ?? {};
		const pick = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : typeof f[k] === 'string' ? (f[k] as string) : null);
		return {
			id: String(f.id ?? ''),
			type: f.type,
			deployment_id: pick('deployment_id') ?? (f.resource_type === 'deployment' && typeof f.resource_id === 'string' ? f.resource_id : null),
			version_id: pick('version_id'),
			data: d
		};
	} catch {
		return null;
	}
}
