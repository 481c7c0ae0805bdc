import { ensureOk, messageOf } from './api';
import { readSse } from './sse';
import { formatDuration } from './time';
import type { EventFrame } from './types';

export type StreamStatus = 'connecting' | 'connected' | 'closed' | 'error';

const KEEP = 300;

/**
 * A sandbox's event stream (`GET /api/v1/sandboxes/{id}/events`, session cookie): the retained
 * history first (`since=0`), then live events; reconnects with backoff, resuming after the last
 * event seen. One per sandbox page, shared by the tabs.
 */
export class SandboxEventStream {
	/** Newest first, at most KEEP. */
	events = $state.raw<EventFrame[]>([]);
	status = $state<StreamStatus>('connecting');
	error = $state<string | null>(null);
	#lastId = 0;
	#listeners = new Set<(e: EventFrame) => void>();

	constructor(readonly sandboxId: string) {}

	/** Calls `fn` for each event as it arrives (history included); returns the unsubscribe. */
	on(fn: (e: EventFrame) => void): () => void {
		this.#listeners.add(fn);
		return () => this.#listeners.delete(fn);
	}

	/** Connects until the returned stop function is called. */
	start(): () => void {
		const abort = new AbortController();
		void this.#run(abort.signal);
		return () => abort.abort();
	}

	async #run(signal: AbortSignal) {
		let backoff = 1000;
		while (!signal.aborted) {
			this.status = 'connecting';
			try {
				const res = await fetch(`/api/v1/sandboxes/${this.sandboxId}/events?since=${this.#lastId}`, {
					credentials: 'same-origin',
					headers: { accept: 'text/event-stream' },
					signal
				});
				await ensureOk(res);
				this.status = 'connected';
				this.error = null;
				backoff = 1000;
				for await (const m of readSse(res.body!)) {
					const frame = parse(m.data);
					// Only durable events (numbered, each once); a stream error frame has no id of its own.
					const n = Number(frame?.id);
					if (!frame || !Number.isInteger(n) || n <= this.#lastId) continue;
					this.#lastId = n;
					this.#add(frame);
				}
				if (!signal.aborted) this.status = 'closed';
			} catch (err) {
				if (signal.aborted) break;
				this.status = 'error';
				this.error = messageOf(err);
			}
			await sleep(backoff, signal);
			backoff = Math.min(backoff * 2, 15_000);
		}
		this.status = 'closed';
	}

	#add(frame: EventFrame) {
		const next = [frame, ...this.events];
		if (next.length > KEEP) next.length = KEEP;
		this.events = next;
		for (const fn of this.#listeners) {
			try {
				fn(frame);
			} catch (e) {
				console.error('event listener failed', e);
			}
		}
	}
}

function parse(data: string): EventFrame | null {
	try {
		const f = JSON.parse(data) as EventFrame;
		return f && typeof f.type === 'string' && typeof f.id === 'string' ? f : null;
	} catch {
		return null;
	}
}

const sleep = (ms: number, signal: AbortSignal) =>
	new Promise<void>((resolve) => {
		const t = setTimeout(resolve, ms);
		signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
	});

/** A one-line summary of an event for the activity feed. */
export function summarize(e: EventFrame): string {
	const d = e.data ?? {};
	const s = (k: string) => (d[k] === undefined || d[k] === null ? undefined : String(d[k]));
	switch (e.type) {
		case 'sandbox.created':
			return [s('template_id'), s('size'), s('region')].filter(Boolean).join(' · ');
		case 'sandbox.started':
			return d.boot_ms !== undefined ? `booted in ${s('boot_ms')} ms${d.boot_path ? ` (${s('boot_path')})` : ''}` : 'running';
		case 'sandbox.exec.started':
			return `$ ${s('command') ?? ''}`;
		case 'sandbox.exec.completed':
			return `exit ${s('exit_code')} in ${Math.round(Number(d.duration_ms) || 0)} ms${d.timed_out ? ' (timed out)' : ''}`;
		case 'sandbox.process.started':
			return `pid ${s('pid')}${d.name ? ` ${s('name')}` : ''}: ${s('command') ?? ''}`;
		case 'sandbox.process.exited':
			return `pid ${s('pid')} exited ${d.signal ? `by ${s('signal')}` : `with ${s('exit_code')}`}`;
		case 'sandbox.extended':
			return `${formatDuration(Number(d.timeout_sec) * 1000)} left`;
		case 'sandbox.updated':
			return Array.isArray(d.fields) ? `changed ${(d.fields as string[]).join(', ')}` : '';
		default:
			return s('reason') ?? s('message') ?? (d.state ? `state ${s('state')}` : '');
	}
}
