import { eq } from 'drizzle-orm';
import { db } from '../db';
import { deploymentVersion } from '../db/schema';
import { sseResponse, type SseSink } from '../http/sse';
import { subscribeLog } from './logs';

const TERMINAL = new Set(['ready', 'failed', 'archived']);

async function load(id: string) {
	const [v] = await db.select().from(deploymentVersion).where(eq(deploymentVersion.id, id));
	return v;
}

/** SSE of a build log: live from this replica's build, else by polling the row (another replica builds). */
export function streamBuildLog(versionId: string): Response {
	return sseResponse(async (sink: SseSink) => {
		const sendLines = (text: string) => {
			for (const line of text.split('\n')) sink.send({ line }, { event: 'log' });
		};
		const finish = async () => {
			const v = await load(versionId);
			sink.send({ state: v?.state ?? 'failed', error: v?.error ?? null }, { event: 'done' });
			sink.close();
		};
		let v = await load(versionId);
		if (!v) return sink.close();
		sink.send({ state: v.state }, { event: 'state' });
		const live = subscribeLog(versionId, (line) => {
			if (line === '\u0000done') {
				void finish();
				return;
			}
			sink.send({ line }, { event: 'log' });
		});
		if (live) {
			if (live.text) sendLines(live.text.replace(/\n$/, ''));
			return live.unsubscribe;
		}
		// Not building here: the stored log, then poll until the build (elsewhere) ends.
		let sent = 0;
		let state = v.state;
		const emitNew = (log: string) => {
			if (log.length > sent) {
				const fresh = log.slice(sent);
				const upto = fresh.lastIndexOf('\n');
				if (upto >= 0) {
					sendLines(fresh.slice(0, upto));
					sent += upto + 1;
				}
			}
		};
		emitNew(v.buildLog);
		if (TERMINAL.has(v.state)) {
			if (v.buildLog.length > sent) sendLines(v.buildLog.slice(sent));
			await finish();
			return;
		}
		const timer = setInterval(async () => {
			try {
				v = await load(versionId);
				if (!v) return finish();
				emitNew(v.buildLog);
				if (v.state !== state) {
					state = v.state;
					sink.send({ state }, { event: 'state' });
				}
				if (TERMINAL.has(v.state)) {
					clearInterval(timer);
					await finish();
				}
			} catch {
				/* next tick */
			}
		}, 1000);
		return () => clearInterval(timer);
	});
}
