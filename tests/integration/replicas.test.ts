import { describe, expect, inject, it } from 'vitest';
import { startServer } from '../support/server';
import { call, createSandbox, newOrg, readSse } from './helpers';

// Several control-plane replicas share one Postgres: an event published on one reaches SSE
// subscribers on another (LISTEN/NOTIFY). PGlite is single-process, so this needs Postgres.
const onPostgres = inject('dbKind') === 'postgres';
if (!onPostgres) console.log('[replicas] skipped on PGlite: replicas need a shared Postgres (runs in the Postgres pass)');

describe.runIf(onPostgres)('several replicas on one Postgres', () => {
	it('delivers events published on one replica to a stream on another, and shares sessions and keys', async () => {
		const org = await newOrg();
		const second = await startServer({ db: 'postgres', databaseUrl: inject('databaseUrl'), env: { HANGAR_LOCAL_AGENT: '0' } });
		try {
			// The key minted on replica 1 works on replica 2.
			const me = await fetch(`${second.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${org.key}` } });
			expect(me.status).toBe(200);
			const res = await fetch(`${second.baseUrl}/api/v1/events/stream?types=sandbox.started`, { headers: { authorization: `Bearer ${org.key}` } });
			expect(res.status).toBe(200);
			const reading = readSse(res, (f) => f.event === 'sandbox.started', 20_000);
			await new Promise((r) => setTimeout(r, 300));
			const s = await createSandbox(org);
			const frames = await reading;
			expect(frames.at(-1)).toMatchObject({ event: 'sandbox.started', data: { sandbox_id: s.id } });
			await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
		} finally {
			await second.stop();
		}
	});
});
