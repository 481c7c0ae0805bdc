// Display formatting shared by pages. Fixed locale and time zone so server and browser render
// the same text (no hydration drift).

const dateTime = new Intl.DateTimeFormat('en-US', {
	timeZone: 'UTC',
	year: 'numeric',
	month: 'short',
	day: 'numeric',
	hour: '2-digit',
	minute: '2-digit',
	hour12: false
});
const dateOnly = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' });

type DateLike = string | Date | null | undefined;
const toDate = (v: DateLike) => (v == null ? null : v instanceof Date ? v : new Date(v));

/** "Mar 4, 2025, 14:05 UTC", or the fallback for null. */
export function formatDateTime(v: DateLike, fallback = '—'): string {
	const d = toDate(v);
	return d && !Number.isNaN(d.getTime()) ? `${dateTime.format(d)} UTC` : fallback;
}

/** "Mar 4, 2025", or the fallback for null. */
export function formatDate(v: DateLike, fallback = '—'): string {
	const d = toDate(v);
	return d && !Number.isNaN(d.getTime()) ? dateOnly.format(d) : fallback;
}

/** ISO text for `<time datetime>` and title attributes. */
export function isoOf(v: DateLike): string | undefined {
	return toDate(v)?.toISOString();
}
