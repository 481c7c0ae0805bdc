import type { WebSocket } from 'ws';

/**
 * Sends binary frames to a browser socket and pauses the source (an agent channel) while more
 * than `high` bytes are waiting to be written, resuming below `low`, so a fast producer (a `yes`
 * flood, a busy desktop) cannot balloon the control plane's memory.
 */
export function binarySender(ws: WebSocket, source: { pause(): void; resume(): void }, high: number, low: number): (b: Buffer) => void {
	let inflight = 0;
	let paused = false;
	return (b) => {
		if (ws.readyState !== ws.OPEN) return;
		inflight += b.length;
		ws.send(b, { binary: true }, () => {
			inflight -= b.length;
			if (paused && inflight <= low) {
				paused = false;
				source.resume();
			}
		});
		if (!paused && inflight > high) {
			paused = true;
			source.pause();
		}
	};
}
