// Durations and relative times for sandboxes, hosts and webhooks.

/** "42 s", "4 m 05 s", "1 h 02 m", "3 d 4 h". */
export function formatDuration(ms: number): string {
	const s = Math.max(0, Math.floor(ms / 1000));
	if (s < 60) return `${s} s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m} m ${String(s % 60).padStart(2, '0')} s`;
	const h = Math.floor(m / 60);
	if (h < 24) return `${h} h ${String(m % 60).padStart(2, '0')} m`;
	return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "12 s ago", "3 m ago", "2 h ago", "4 d ago"; "—" for null. */
export function formatAgo(iso: string | null | undefined, now: number): string {
	if (!iso) return '—';
	const s = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 1000));
	if (s < 60) return `${s} s ago`;
	if (s < 3600) return `${Math.floor(s / 60)} m ago`;
	if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
	return `${Math.floor(s / 86_400)} d ago`;
}

/** Memory in MiB as "512 MB", "2 GB", "1.5 GB". */
export function formatMemory(mb: number | null | undefined): string {
	if (mb == null) return '—';
	if (mb < 1024) return `${mb} MB`;
	const gb = mb / 1024;
	return `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`;
}

/** "14:05:09" (UTC, like the rest of the dashboard). */
export function formatClock(iso: string): string {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(11, 19);
}
