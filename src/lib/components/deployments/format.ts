// Display helpers for deployments and versions.

/** The first 12 hex digits of a sha256 (with or without a `sha256:` prefix), or "—". */
export function shortSha(sha: string | null | undefined): string {
	if (!sha) return '—';
	return sha.replace(/^sha256:/, '').slice(0, 12);
}

/** "840 B", "12.4 KB", "3.1 MB". */
export function formatBytes(n: number | null | undefined): string {
	if (n == null) return '—';
	if (n < 1024) return `${n} B`;
	const units = ['KB', 'MB', 'GB', 'TB'];
	let v = n / 1024;
	let i = 0;
	while (v >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** "850 ms", "4.2 s", "2 m 05 s". */
export function formatBuildDuration(ms: number | null | undefined): string {
	if (ms == null) return '—';
	if (ms < 1000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
	const s = Math.round(ms / 1000);
	return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
}

/** A config value for the diff table: strings as they are, null as "—", the rest as JSON. */
export function formatValue(v: unknown): string {
	if (v === null || v === undefined || v === '') return '—';
	return typeof v === 'string' ? v : JSON.stringify(v);
}
