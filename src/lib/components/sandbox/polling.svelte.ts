/**
 * Calls `refresh` every `ms` while the calling component is mounted — skipped while the tab is in
 * the background, while a modal dialog is open (so a half-filled form is left alone) and while
 * the previous refresh is still running.
 */
export function usePolling(refresh: () => Promise<unknown> | void, ms: number): void {
	$effect(() => {
		let busy = false;
		const timer = setInterval(async () => {
			if (busy || document.hidden || document.querySelector('dialog[open]')) return;
			busy = true;
			try {
				await refresh();
			} catch {
				// the next tick tries again
			} finally {
				busy = false;
			}
		}, ms);
		return () => clearInterval(timer);
	});
}
