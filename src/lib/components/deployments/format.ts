// Display helpers for deployments and versions.
export { formatBytes } from '$lib/format';

/** The first 12 hex digits of a sha256 (with or without a `sha256:` prefix), or "—". */
export function shortSha(sha: string | null | undefined): string {
	if (!sha) return '—';
	return sha.replace(/^sha256:/, '').slice(0, 12);
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
