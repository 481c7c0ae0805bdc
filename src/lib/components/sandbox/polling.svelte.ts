import { invalidate } from '$app/navigation';
import { navigating } from '$app/state';

/**
 * `invalidate(dependency)` for background refreshes: skipped while a navigation is under way,
 * because SvelteKit lets an invalidation win over a pending navigation (the click would be lost).
 */
export function refreshData(dependency: string): Promise<void> {
	return navigating.to ? Promise.resolve() : invalidate(dependency);
}

/**
 * Calls `refresh` every `ms` while the calling component is mounted — skipped while the tab is in
 * the background, while a modal dialog is open (so a half-filled form is left alone), during a
 * navigation and while the previous refresh is still running. A function `ms` is re-read (and
 * the timer reset) when the state it reads changes.
 */
export function usePolling(refresh: () => Promise<unknown> | void, ms: number | (() => number)): void {
	$effect(() => {
		const every = typeof ms === 'function' ? ms() : ms;
		let busy = false;
		const timer = setInterval(async () => {
			if (busy || document.hidden || navigating.to || document.querySelector('dialog[open]')) return;
			busy = true;
			try {
				await refresh();
			} catch {
				// the next tick tries again
			} finally {
				busy = false;
			}
		}, every);
		return () => clearInterval(timer);
	});
}
