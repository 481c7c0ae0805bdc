import { describe, expect, it } from 'vitest';
import { baseUrl, call, createSandbox, exec, expectError, newOrg, readSse, waitFor } from './helpers';

describe('sandbox lifecycle', () => {
	it('creates, reads, lists, updates and destroys a sandbox', async () => {
		const org = await newOrg();
		const s = await createSandbox(org, { name: 'life-1', slug: 'life-one', tags: ['a', 'b'], metadata: { purpose: 'test' }, size: 'xs' });
		expect(s).toMatchObject({ state: 'running', ready: true, template_id: 'host-minimal', cpu_count: 1, memory_mb: 2048, name: 'life-1', slug: 'life-one', tags: ['a', 'b'] });
		expect(['warm', 'cold']).toContain(s.boot_path);
		expect(s.boot_ms).toBeGreaterThanOrEqual(0);
		expect(s.timeout_sec).toBe(300);
		expect(s.timeout_remaining_ms).toBeGreaterThan(290_000);
		expect(new Date(s.expires_at).getTime()).toBeGreaterThan(Date.now());
		expect(s.workspace_id).toBeTruthy();
		expect(s.project_id).toBeTruthy();

		expect((await call('GET', `/sandboxes/${s.id}`, { token: org.key })).body.data.id).toBe(s.id);
		expect((await call('GET', '/sandboxes/by-name/life-1', { token: org.key })).body.data.id).toBe(s.id);
		expectError(await call('GET', '/sandboxes/by-name/nope', { token: org.key }), 404, 'NOT_FOUND');
		const byTag = await call('GET', '/sandboxes?tags=a,b', { token: org.key });
		expect(byTag.body.data.map((x: any) => x.id)).toEqual([s.id]);
		expect((await call('GET', '/sandboxes?tags=zzz', { token: org.key })).body.data).toEqual([]);
		expect((await call('GET', '/sandboxes?state=running', { token: org.key })).body.page.total).toBe(1);

		const u = await call('PATCH', `/sandboxes/${s.id}`, { token: org.key, body: { name: 'life-2', metadata: { x: 1 } } });
		expect(u.body.data).toMatchObject({ name: 'life-2', metadata: { x: 1 } });
		const t = await call('PATCH', `/sandboxes/${s.id}/tags`, { token: org.key, body: { tags: ['c'] } });
		expect(t.body.data.tags).toEqual(['c']);
		expectError(await call('POST', '/sandboxes', { token: org.key, body: { template_id: 'host-minimal', slug: 'life-one' } }), 409, 'CONFLICT');

		const d = await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
		expect(d.status).toBe(200);
		expect(d.body.data.state).toBe('destroyed');
		expect(d.body.data.destroyed_at).toBeTruthy();
		expect((await call('DELETE', `/sandboxes/${s.id}`, { token: org.key })).body.data.state).toBe('destroyed');
		expectError(await call('POST', `/sandboxes/${s.id}/exec`, { token: org.key, body: { command: 'true' } }), 400, 'SANDBOX_DESTROYED');
		expect((await call('GET', '/sandboxes', { token: org.key })).body.data).toEqual([]);
		expect((await call('GET', '/sandboxes?state=destroyed', { token: org.key })).body.data).toHaveLength(1);
		// The slug is free again once the sandbox is gone.
		const again = await createSandbox(org, { slug: 'life-one' });
		await call('DELETE', `/sandboxes/${again.id}`, { token: org.key });

		const events = await call('GET', `/audit-log?resource_id=${s.id}`, { token: org.token });
		expect(events.body.data.map((e: any) => e.type)).toEqual(expect.arrayContaining(['sandbox.created', 'sandbox.updated', 'sandbox.destroyed']));
	});

	it('validates create input', async () => {
		const org = await newOrg();
		expectError(await call('POST', '/sandboxes', { token: org.key, body: { template_id: 'no-such-template' } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', '/sandboxes', { token: org.key, body: { size: 'huge' } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', '/sandboxes', { token: org.key, body: { cpu_count: 3, memory_mb: 1000, disk_size_mb: 1 } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', '/sandboxes', { token: org.key, body: { template_id: 'host-minimal', region: 'mars-1' } }), 400, 'invalid_region');
		expectError(await call('POST', '/sandboxes', { token: org.key, body: { template_id: 'host-minimal', timeout_sec: -1 } }), 422, 'VALIDATION_ERROR');
		expectError(await call('GET', '/sandboxes/not-a-uuid', { token: org.key }), 400, 'INVALID_ID');
		expectError(await call('GET', `/sandboxes/${crypto.randomUUID()}`, { token: org.key }), 404, 'NOT_FOUND');
	});

	it('resolves ownership from workspace/project selectors and external ids', async () => {
		const org = await newOrg();
		const s = await createSandbox(org, { external_workspace_id: 'cust-9', project_name: 'Agent Runs', external_user_id: 'u-42' });
		expect(s.external_workspace_id).toBe('cust-9');
		expect(s.external_user_id).toBe('u-42');
		const ws = await call('GET', '/workspaces?external_workspace_id=cust-9', { token: org.key });
		expect(ws.body.data[0].id).toBe(s.workspace_id);
		const p = await call('GET', `/projects/${s.project_id}`, { token: org.key });
		expect(p.body.data.name).toBe('Agent Runs');
		const again = await createSandbox(org, { external_workspace_id: 'cust-9', project_name: 'Agent Runs' });
		expect(again.workspace_id).toBe(s.workspace_id);
		expect(again.project_id).toBe(s.project_id);
		expect((await call('GET', '/sandboxes?external_user_id=u-42', { token: org.key })).body.data.map((x: any) => x.id)).toEqual([s.id]);
		for (const x of [s, again]) await call('DELETE', `/sandboxes/${x.id}`, { token: org.key });
	});

	it('keeps other organizations out', async () => {
		const a = await newOrg();
		const b = await newOrg();
		const s = await createSandbox(a);
		expectError(await call('GET', `/sandboxes/${s.id}`, { token: b.key }), 404, 'NOT_FOUND');
		expectError(await call('POST', `/sandboxes/${s.id}/exec`, { token: b.key, body: { command: 'id' } }), 404, 'NOT_FOUND');
		expectError(await call('DELETE', `/sandboxes/${s.id}`, { token: b.key }), 404, 'NOT_FOUND');
		expectError(await call('GET', `/sandboxes/${s.id}/processes`, { token: b.key }), 404, 'NOT_FOUND');
		expect((await call('GET', '/sandboxes', { token: b.key })).body.data).toEqual([]);
		await call('DELETE', `/sandboxes/${s.id}`, { token: a.key });
	});

	it('pause freezes processes and keeps them; resume continues', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const p = await call('POST', `/sandboxes/${s.id}/processes`, {
			token: org.key,
			body: { command: 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.1; done', name: 'counter' }
		});
		expect(p.status, p.text).toBe(201);
		await waitFor(async () => Number((await exec(org, s.id, 'cat /tmp/counter')).stdout) > 2);
		const atPause = Number((await exec(org, s.id, 'cat /tmp/counter')).stdout);
		const paused = await call('POST', `/sandboxes/${s.id}/pause`, { token: org.key });
		expect(paused.body.data.state).toBe('paused');
		// Pausing twice is harmless.
		expect((await call('POST', `/sandboxes/${s.id}/pause`, { token: org.key })).body.data.state).toBe('paused');
		await new Promise((r) => setTimeout(r, 1500));
		const resumed = await call('POST', `/sandboxes/${s.id}/resume`, { token: org.key });
		expect(resumed.body.data.state).toBe('running');
		const afterResume = Number((await exec(org, s.id, 'cat /tmp/counter')).stdout);
		// 1.5 s frozen: the loop (10 ticks/s) did not run meanwhile.
		expect(afterResume - atPause).toBeLessThan(8);
		await waitFor(async () => Number((await exec(org, s.id, 'cat /tmp/counter')).stdout) > afterResume + 2);
		const procs = await call('GET', `/sandboxes/${s.id}/processes`, { token: org.key });
		expect(procs.body.data.find((x: any) => x.pid === p.body.data.pid).state).toBe('running');
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('a paused sandbox does not count time while frozen, and exec resumes it', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		await exec(org, s.id, 'date +%s%N > /tmp/t0');
		await call('POST', `/sandboxes/${s.id}/pause`, { token: org.key });
		expect((await call('GET', `/sandboxes/${s.id}`, { token: org.key })).body.data.state).toBe('paused');
		const r = await exec(org, s.id, 'echo back');
		expect(r.stdout).toBe('back\n');
		expect((await call('GET', `/sandboxes/${s.id}`, { token: org.key })).body.data.state).toBe('running');
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('enforces timeouts: destroy when not persistent, pause when persistent, idle expiry, extend', async () => {
		const org = await newOrg();
		const short = await createSandbox(org, { timeout_sec: 2 });
		const persistent = await createSandbox(org, { timeout_sec: 2, persistent: true });
		const idle = await createSandbox(org, { idle_timeout_sec: 2, timeout_sec: 600 });
		const busy = await createSandbox(org, { idle_timeout_sec: 3, timeout_sec: 600 });
		const extended = await createSandbox(org, { timeout_sec: 2 });
		const ext = await call('POST', `/sandboxes/${extended.id}/extend`, { token: org.key, body: { timeout_sec: 120 } });
		expect(ext.body.data.timeout_remaining_ms).toBeGreaterThan(100_000);
		const state = async (id: string) => (await call('GET', `/sandboxes/${id}`, { token: org.key })).body.data.state;
		// Activity keeps `busy` alive past its idle timeout.
		const keepBusy = (async () => {
			for (let i = 0; i < 12; i++) {
				await exec(org, busy.id, 'true');
				await new Promise((r) => setTimeout(r, 500));
			}
		})();
		await waitFor(async () => (await state(short.id)) === 'destroyed', 15_000);
		await waitFor(async () => (await state(persistent.id)) === 'paused', 15_000);
		await waitFor(async () => (await state(idle.id)) === 'destroyed', 15_000);
		await keepBusy;
		expect(await state(busy.id)).toBe('running');
		expect(await state(extended.id)).toBe('running');
		const ev = await call('GET', `/audit-log?resource_id=${short.id}`, { token: org.token });
		expect(ev.status).toBe(200);
		for (const x of [persistent, busy, extended]) await call('DELETE', `/sandboxes/${x.id}`, { token: org.key });
	});

	it('readiness answers ready for a running sandbox, also as SSE', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const r = await call('GET', `/sandboxes/${s.id}/readiness`, { token: org.key });
		expect(r.body).toMatchObject({ ready: true, status: 'ready' });
		const res = await fetch(`${baseUrl()}/api/v1/sandboxes/${s.id}/readiness/stream`, { headers: { authorization: `Bearer ${org.key}` } });
		const frames = await readSse(res, (f) => f.event === 'ready', 5000);
		expect(frames.at(-1)).toMatchObject({ event: 'ready', data: { ready: true } });
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});
});
