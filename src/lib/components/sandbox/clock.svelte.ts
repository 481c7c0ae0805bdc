// One ticking clock for every countdown and "5 s ago" on a page. It reads 0 until a component
// using it has mounted, so server-rendered text and the first client render agree.

let now = $state(0);
let users = 0;
let timer: ReturnType<typeof setInterval> | undefined;

export const clock = {
	/** Milliseconds since the epoch, updated every second while mounted; 0 before. */
	get now() {
		return now;
	}
};

/** Starts the clock while the calling component is mounted (call during component init). */
export function useClock(): typeof clock {
	$effect(() => {
		users++;
		if (!timer) {
			now = Date.now();
			timer = setInterval(() => (now = Date.now()), 1000);
		}
		return () => {
			if (--users === 0) {
				clearInterval(timer);
				timer = undefined;
			}
		};
	});
	return clock;
}
