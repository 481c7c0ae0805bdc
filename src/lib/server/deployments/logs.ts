// Build logs: kept in memory while a build runs on this replica (live subscribers get each line),
// written to the version row every second and at the end, so any replica can serve them.
import { eq } from 'drizzle-orm';
import { db } from '../db';
import { deploymentVersion } from '../db/schema';

export const MAX_BUILD_LOG = 2 * 1024 * 1024;

type Listener = (line: string) => void;

interface LiveLog {
	text: string;
	truncated: boolean;
	listeners: Set<Listener>;
	dirty: boolean;
	timer: NodeJS.Timeout | null;
	partial: string;
}

const live = new Map<string, LiveLog>();

export function openLog(versionId: string): void {
	live.set(versionId, { text: '', truncated: false, listeners: new Set(), dirty: false, timer: null, partial: '' });
}

async function flush(versionId: string): Promise<void> {
	const l = live.get(versionId);
	if (!l || !l.dirty) return;
	l.dirty = false;
	await db.update(deploymentVersion).set({ buildLog: l.text, buildHeartbeatAt: new Date() }).where(eq(deploymentVersion.id, versionId));
}

function add(l: LiveLog, versionId: string, line: string): void {
	if (l.truncated) return;
	if (l.text.length + line.length + 1 > MAX_BUILD_LOG) {
		l.truncated = true;
		line = '… build log truncated at 2 MiB …';
	}
	l.text += `${line}\n`;
	l.dirty = true;
	for (const fn of l.listeners) fn(line);
	l.timer ??= setTimeout(() => {
		l.timer = null;
		flush(versionId).catch((e) => console.error('build log flush failed', e));
	}, 1000);
}

/** Appends output (split into lines; a partial last line waits for its end). */
export function appendLog(versionId: string, chunk: string): void {
	const l = live.get(versionId);
	if (!l) return;
	const text = l.partial + chunk.replace(/\r\n/g, '\n');
	const parts = text.split('\n');
	l.partial = parts.pop() ?? '';
	for (const p of parts) add(l, versionId, p);
}

/** A line of Hangar's own (step headers, results). */
export function logStep(versionId: string, line: string): void {
	const l = live.get(versionId);
	if (!l) return;
	if (l.partial) {
		add(l, versionId, l.partial);
		l.partial = '';
	}
	add(l, versionId, `==> ${line}`);
}

/**
 * Ends the live log: returns the final text (the caller writes it with the version's final state)
 * and `done`, to call once that is stored: live subscribers then get the end of the stream.
 */
export function closeLog(versionId: string): { text: string; done: () => void } {
	const l = live.get(versionId);
	if (!l) return { text: '', done: () => {} };
	if (l.partial) add(l, versionId, l.partial);
	if (l.timer) clearTimeout(l.timer);
	l.dirty = false;
	return {
		text: l.text,
		done: () => {
			live.delete(versionId);
			for (const fn of l.listeners) fn('\u0000done');
		}
	};
}

/** Live text so far and a subscription, when the build runs on this replica. */
export function subscribeLog(versionId: string, fn: Listener): { text: string; unsubscribe: () => void } | null {
	const l = live.get(versionId);
	if (!l) return null;
	l.listeners.add(fn);
	return { text: l.text, unsubscribe: () => l.listeners.delete(fn) };
}

export function liveText(versionId: string): string | null {
	return live.get(versionId)?.text ?? null;
}
