/**
 * Warm pool: per template, keep `size` booted but unclaimed sandboxes (no network, no user env,
 * default limits). sandbox.create claims one (applying limits, env, hostname and network at claim
 * time) and the pool refills in the background. An idle pooled sandbox costs ~1-2 MB (PSS).
 */
import { log } from './log';
import type { Sandbox, SandboxManager } from './sandboxes';

export class WarmPool {
	private ready = new Map<string, Sandbox[]>();
	private filling = new Map<string, Promise<void>>();
	private stopped = false;
	private scheduled = new Map<string, NodeJS.Timeout>();
	/** Refill after a claim is delayed a little so the new sandbox's first exec doesn't compete with a boot. */
	refillDelayMs = 100;

	constructor(
		private readonly mgr: SandboxManager,
		public size: number
	) {
		mgr.onGone.push((sb) => {
			if (sb.id !== null) return;
			const list = this.ready.get(sb.template);
			const i = list?.indexOf(sb) ?? -1;
			if (list && i >= 0) list.splice(i, 1);
		});
	}

	/** Take a warm sandbox (or undefined) and refill in the background. */
	take(template: string): Sandbox | undefined {
		const list = this.ready.get(template);
		let sb: Sandbox | undefined;
		while (list && list.length) {
			const c = list.shift()!;
			if (!c.destroying && !c.inst.hasExited()) {
				sb = c;
				break;
			}
		}
		if (!this.scheduled.has(template) && this.size > 0 && !this.stopped) {
			this.scheduled.set(
				template,
				setTimeout(() => {
					this.scheduled.delete(template);
					void this.refill(template);
				}, this.refillDelayMs)
			);
		}
		return sb;
	}

	/** Change the per-template size; shrinking destroys the surplus. */
	async resize(size: number): Promise<void> {
		this.size = Math.max(0, size);
		await this.settle();
		for (const [template, list] of this.ready) {
			const surplus = list.splice(this.size);
			await Promise.all(surplus.map((sb) => this.mgr.destroySandbox(sb)));
			if (list.length < this.size) void this.refill(template);
		}
	}

	count(): number {
		let n = 0;
		for (const l of this.ready.values()) n += l.length;
		return n;
	}

	/** Fill the pool of a template up to `size` (one boot at a time, in the background). */
	refill(template: string): Promise<void> {
		if (this.size <= 0 || this.stopped) return Promise.resolve();
		const running = this.filling.get(template);
		if (running) return running;
		const p = (async () => {
			const list = this.ready.get(template) ?? [];
			this.ready.set(template, list);
			while (!this.stopped && list.length < this.size) {
				try {
					const sb = await this.mgr.boot(template);
					if (this.stopped) {
						await this.mgr.destroySandbox(sb);
						break;
					}
					list.push(sb);
				} catch (e) {
					log.debug('warm pool fill stopped', { template, error: String((e as Error).message) });
					break;
				}
			}
		})().finally(() => this.filling.delete(template));
		this.filling.set(template, p);
		return p;
	}

	/** Wait for running fills (tests, measurements). */
	async settle(): Promise<void> {
		while (this.filling.size || this.scheduled.size) {
			if (this.filling.size) await Promise.all([...this.filling.values()]);
			else await new Promise((r) => setTimeout(r, 10));
		}
	}

	async stop(): Promise<void> {
		this.stopped = true;
		for (const t of this.scheduled.values()) clearTimeout(t);
		this.scheduled.clear();
		await Promise.all([...this.filling.values()]).catch(() => undefined);
		const all = [...this.ready.values()].flat();
		this.ready.clear();
		await Promise.all(all.map((sb) => this.mgr.destroySandbox(sb)));
	}
}
