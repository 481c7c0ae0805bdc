// Snapshots, restore and fork through the API, against a real server and agent.
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startServer, type TestServer } from '../support/server';
import { baseUrl, call, createSandbox, exec, expectError, newOrg, waitFor, type Org } from './helpers';

async function snapshot(org: Org, id: string, comment?: string) {
	const r = await call('POST', `/sandboxes/${id}/snapshots`, { token: org.key, body: comment === undefined ? {} : { comment } });
	expect(r.status, r.text).toBe(201);
	const snap = r.body.data;
	if (snap.status === 'ready') return snap;
	return waitFor(async () => {
		const g = await call('GET', `/sandboxes/${id}/snapshots/${snap.id}`, { token: org.key });
		return g.body.data.status === 'ready' ? g.body.data : null;
	}, 60_000);
}

const cat = async (org: Org, id: string, path: string) => (await exec(org, id, `cat ${path}`)).stdout.trim();

describe('snapshots', () => {
	const cleanup: [Org, string][] = [];
	afterAll(async () => {
		for (const [org, id] of cleanup) await call('DELETE', `/sandboxes/${id}`, { token: org.key });
	});

	it('snapshot → modify → restore gives the old files in a new sandbox', async () => {
		const org = await newOrg();
		const s = await createSandbox(org, { env: { FROM_SOURCE: 'yes' } });
		cleanup.push([org, s.id]);
		await exec(org, s.id, 'mkdir -p /workspace/proj && echo v1 > /workspace/proj/state.txt && echo note > /home/user/notes && head -c 300000 /dev/urandom > /workspace/proj/data.bin && sha256sum /workspace/proj/data.bin > /tmp/sum');
		const t0 = Date.now();
		const snap = await snapshot(org, s.id, 'after setup');
		expect(snap).toMatchObject({ sandbox_id: s.id, status: 'ready', kind: 'filesystem', processes_kept: false, comment: 'after setup', template_id: 'host-minimal' });
		expect(snap.size_bytes).toBeGreaterThan(300_000);
		expect(typeof snap.note).toBe('string');
		expect(snap.created_at).toMatch(/Z$/);
		expect(snap.updated_at).toMatch(/Z$/);
		expect(Date.now() - t0).toBeLessThan(5000);
		// The source kept running.
		expect((await call('GET', `/sandboxes/${s.id}`, { token: org.key })).body.data.state).toBe('running');

		await exec(org, s.id, 'echo v2 > /workspace/proj/state.txt && rm /home/user/notes && touch /workspace/proj/later');
		const t1 = Date.now();
		const r = await call('POST', `/sandboxes/${s.id}/restore/${snap.id}`, { token: org.key, body: {} });
		expect(r.status, r.text).toBe(201);
		const restored = r.body.data;
		cleanup.push([org, restored.id]);
		expect(restored.id).not.toBe(s.id);
		expect(restored).toMatchObject({ state: 'running', template_id: 'host-minimal', size: s.size, host_id: s.host_id });
		const firstCommand = await exec(org, restored.id, 'cat /workspace/proj/state.txt /home/user/notes; test -e /workspace/proj/later || echo no-later; sha256sum -c /tmp/sum >/dev/null && echo intact; echo $FROM_SOURCE; whoami; touch /workspace/proj/writable && echo writable');
		const restoreToFirstCommandMs = Date.now() - t1;
		expect(firstCommand.stdout.trim().split('\n')).toEqual(['v1', 'note', 'no-later', 'intact', 'yes', 'user', 'writable']);
		expect(restoreToFirstCommandMs).toBeLessThan(3000);
		expect(await cat(org, s.id, '/workspace/proj/state.txt')).toBe('v2');

		const list = await call('GET', `/sandboxes/${s.id}/snapshots`, { token: org.key });
		expect(list.status).toBe(200);
		expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([snap.id]);
		for (const k of ['id', 'sandbox_id', 'status', 'kind', 'comment', 'size_bytes', 'created_at', 'updated_at']) expect(list.body.data[0]).toHaveProperty(k);
		// The restored sandbox has no snapshots of its own.
		expect((await call('GET', `/sandboxes/${restored.id}/snapshots`, { token: org.key })).body.data).toEqual([]);
	});

	it('three forks from one snapshot diverge independently', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		cleanup.push([org, s.id]);
		await exec(org, s.id, 'echo base > /workspace/f && mkdir /workspace/d');
		const snap = await snapshot(org, s.id);
		const forks = await Promise.all(
			[1, 2, 3].map(async (i) => {
				const r = await call('POST', `/sandboxes/${s.id}/fork`, { token: org.key, body: { snapshot_id: snap.id, name: `branch-${i}`, metadata: { branch: i } } });
				expect(r.status, r.text).toBe(201);
				cleanup.push([org, r.body.data.id]);
				return r.body.data;
			})
		);
		expect(new Set(forks.map((f) => f.id)).size).toBe(3);
		expect(forks.map((f) => f.name).sort()).toEqual(['branch-1', 'branch-2', 'branch-3']);
		await Promise.all(forks.map((f, i) => exec(org, f.id, `echo branch-${i + 1} >> /workspace/f && touch /workspace/d/only-${i + 1}`)));
		for (const [i, f] of forks.entries()) {
			expect(await cat(org, f.id, '/workspace/f')).toBe(`base\nbranch-${i + 1}`);
			expect((await exec(org, f.id, 'ls /workspace/d')).stdout.trim()).toBe(`only-${i + 1}`);
		}
		expect(await cat(org, s.id, '/workspace/f')).toBe('base');
	});

	it('fork of the live sandbox (implicit snapshot) honours Idempotency-Key', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		cleanup.push([org, s.id]);
		await exec(org, s.id, 'echo live > /workspace/live.txt');
		const key = crypto.randomUUID();
		const a = await call('POST', `/sandboxes/${s.id}/fork`, { token: org.key, body: { timeout_sec: 600 }, headers: { 'idempotency-key': key } });
		expect(a.status, a.text).toBe(201);
		cleanup.push([org, a.body.data.id]);
		const b = await call('POST', `/sandboxes/${s.id}/fork`, { token: org.key, body: { timeout_sec: 600 }, headers: { 'idempotency-key': key } });
		expect(b.status).toBe(201);
		expect(b.body.data.id).toBe(a.body.data.id);
		expect(a.body.data.timeout_sec).toBe(600);
		expect(await cat(org, a.body.data.id, '/workspace/live.txt')).toBe('live');
		// The implicit snapshot is not left behind (removed right after the fork answered).
		await waitFor(async () => (await call('GET', `/sandboxes/${s.id}/snapshots`, { token: org.key })).body.data.length === 0, 10_000);
		expectError(await call('POST', `/sandboxes/${s.id}/fork`, { token: org.key, body: { template_id: 'python' } }), 422, 'VALIDATION_ERROR');
	});

	it('a destroyed sandbox keeps its snapshots: list, restore, then delete', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		await exec(org, s.id, 'echo kept > /workspace/kept.txt');
		const snap = await snapshot(org, s.id, 'before delete');
		const d = await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
		expect(d.body.data.state).toBe('destroyed');
		const list = await call('GET', `/sandboxes/${s.id}/snapshots`, { token: org.key });
		expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([snap.id]);
		const all = await call('GET', '/snapshots', { token: org.key });
		expect(all.body.data.map((x: { id: string }) => x.id)).toContain(snap.id);
		expect(all.body.quota).toMatchObject({ count: 1, max_count: expect.any(Number) });

		const r = await call('POST', `/sandboxes/${s.id}/restore/${snap.id}`, { token: org.key, body: { name: 'phoenix' } });
		expect(r.status, r.text).toBe(201);
		cleanup.push([org, r.body.data.id]);
		expect(r.body.data.name).toBe('phoenix');
		expect(await cat(org, r.body.data.id, '/workspace/kept.txt')).toBe('kept');

		const del = await call('DELETE', `/sandboxes/${s.id}/snapshots/${snap.id}`, { token: org.key });
		expect(del.status, del.text).toBe(200);
		expect(del.body.data).toMatchObject({ id: snap.id, status: 'deleted' });
		expectError(await call('POST', `/sandboxes/${s.id}/restore/${snap.id}`, { token: org.key, body: {} }), 404, 'NOT_FOUND');
		expectError(await call('GET', `/sandboxes/${s.id}/snapshots/${snap.id}`, { token: org.key }), 404, 'NOT_FOUND');
		expect((await call('GET', `/sandboxes/${s.id}/snapshots`, { token: org.key })).body.data).toEqual([]);
		// A destroyed sandbox cannot take new snapshots.
		expectError(await call('POST', `/sandboxes/${s.id}/snapshots`, { token: org.key, body: {} }), 400, 'SANDBOX_DESTROYED');
	});

	it('validation, tenancy, paused sandboxes', async () => {
		const org = await newOrg();
		const s = await createSandbox(org, { persistent: true });
		cleanup.push([org, s.id]);
		expectError(await call('POST', `/sandboxes/${s.id}/snapshots`, { token: org.key, body: { comment: 'x'.repeat(501) } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', `/sandboxes/${s.id}/restore/not-a-uuid`, { token: org.key, body: {} }), 400, 'INVALID_ID');
		expectError(await call('POST', `/sandboxes/${s.id}/restore/${crypto.randomUUID()}`, { token: org.key, body: {} }), 404, 'NOT_FOUND');
		await call('POST', `/sandboxes/${s.id}/pause`, { token: org.key });
		const snap = await snapshot(org, s.id, 'while paused');
		expect(snap.status).toBe('ready');
		expect((await call('GET', `/sandboxes/${s.id}`, { token: org.key })).body.data.state).toBe('paused');
		const stranger = await newOrg();
		expectError(await call('GET', `/sandboxes/${s.id}/snapshots`, { token: stranger.key }), 404, 'NOT_FOUND');
		const other = await createSandbox(stranger);
		cleanup.push([stranger, other.id]);
		expectError(await call('POST', `/sandboxes/${other.id}/restore/${snap.id}`, { token: stranger.key, body: {} }), 404, 'NOT_FOUND');
		expectError(await call('POST', `/sandboxes/${other.id}/fork`, { token: stranger.key, body: { snapshot_id: snap.id } }), 404, 'NOT_FOUND');
	});
});

describe('snapshot quotas', () => {
	let server: TestServer | null = null;
	afterAll(async () => {
		await server?.stop();
	});

	it('count and bytes per organization → 409 SNAPSHOT_QUOTA_EXCEEDED', async () => {
		const db = inject('dbKind') as 'pglite' | 'postgres';
		server = await startServer({ db, waitForHost: true, env: { HANGAR_SNAPSHOT_MAX_COUNT: '2', HANGAR_SNAPSHOT_MAX_BYTES: '1MiB', HANGAR_POOL_SIZE: '1' } });
		const api = async (method: string, path: string, token: string, body?: unknown) => {
			const r = await fetch(`${server!.baseUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
			return { status: r.status, body: (await r.json()) as any };
		};
		const signup = async () => {
			const email = `quota${Date.now()}${Math.random().toString(36).slice(2, 6)}@example.test`;
			const su = await api('POST', '/auth/signup', '', { email, password: 'correct horse battery', organization_name: 'Q' });
			const k = await api('POST', '/api-keys', su.body.data.token, { name: 'k' });
			return k.body.data.key as string;
		};
		const key = await signup();
		const sb = (await api('POST', '/sandboxes', key, { template_id: 'host-minimal' })).body.data;
		const a = await api('POST', `/sandboxes/${sb.id}/snapshots`, key, { comment: 'a' });
		const b = await api('POST', `/sandboxes/${sb.id}/snapshots`, key, { comment: 'b' });
		expect([a.status, b.status]).toEqual([201, 201]);
		const c = await api('POST', `/sandboxes/${sb.id}/snapshots`, key, { comment: 'c' });
		expect(c.status).toBe(409);
		expect(c.body.error).toMatchObject({ code: 'SNAPSHOT_QUOTA_EXCEEDED', details: { limit: 'count', max_count: 2, count: 2 } });
		expect((await api('DELETE', `/sandboxes/${sb.id}/snapshots/${a.body.data.id}`, key)).status).toBe(200);
		expect((await api('POST', `/sandboxes/${sb.id}/snapshots`, key, { comment: 'c' })).status).toBe(201);

		const key2 = await signup();
		const sb2 = (await api('POST', '/sandboxes', key2, { template_id: 'host-minimal' })).body.data;
		await api('POST', `/sandboxes/${sb2.id}/exec`, key2, { command: 'head -c 2000000 /dev/urandom > /workspace/big' });
		const big = await api('POST', `/sandboxes/${sb2.id}/snapshots`, key2, {});
		expect(big.status).toBe(201);
		const over = await api('POST', `/sandboxes/${sb2.id}/snapshots`, key2, {});
		expect(over.status).toBe(409);
		expect(over.body.error).toMatchObject({ code: 'SNAPSHOT_QUOTA_EXCEEDED', details: { limit: 'bytes', max_bytes: 1024 * 1024 } });
		await api('DELETE', `/sandboxes/${sb.id}`, key);
		await api('DELETE', `/sandboxes/${sb2.id}`, key2);
		expect(baseUrl()).not.toBe(server.baseUrl);
	}, 120_000);
});
