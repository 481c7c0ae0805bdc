// Computer services against the built server and a real agent: supervised processes with restart
// policies (a crashing on-failure service is restarted with backoff until max_restarts, its logs
// hold every run; `never` stays down), stop/start/restart, logs, delete, and errors.
import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgent, type TestAgent } from '../support/agent';
import { startServer, type TestServer } from '../support/server';
import { apiAt, baseUrl, call, expectError, keyWith, newOrg, waitFor, type Org } from './helpers';

const missing = ['Xvnc', 'xfwm4', 'xterm', 'xdotool'].filter((b) => {
	try {
		execSync(`command -v ${b}`, { stdio: 'ignore', shell: '/bin/sh' });
		return false;
	} catch {
		return true;
	}
});

describe.skipIf(missing.length > 0)('computer services', () => {
	let org: Org;
	let id: string;
	const svc = (path = '') => `/computers/${id}/services${path}`;
	const get = async (name: string) => {
		const r = await call('GET', svc(`/${name}`), { token: org.key });
		expect(r.status, r.text).toBe(200);
		return r.body.data;
	};
	const sh = async (command: string) => (await call('POST', `/computers/${id}/exec`, { token: org.key, body: { command } })).body;

	beforeAll(async () => {
		org = await newOrg();
		const r = await call('POST', '/computers', { token: org.key, body: { name: 'Services Desk' } });
		expect(r.status, r.text).toBe(201);
		id = r.body.id;
		await waitFor(async () => {
			const g = await call('GET', `/computers/${id}`, { token: org.key });
			if (g.body.status === 'error') throw new Error(g.text);
			return g.body.status === 'active';
		}, 60_000, 200);
	});

	afterAll(async () => {
		if (id) await call('DELETE', `/computers/${id}`, { token: org.key });
	});

	it('validates, creates 201 {data}, refuses duplicates, lists {data:[…]}', async () => {
		expectError(await call('POST', svc(), { token: org.key, body: { name: 'Bad_Name', command: 'true' } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', svc(), { token: org.key, body: { name: 'ok', command: 'true', restart: 'sometimes' } }), 422, 'VALIDATION_ERROR');
		const r = await call('POST', svc(), {
			token: org.key,
			body: { name: 'ticker', command: 'while true; do echo "tick $GREETING $(pwd)"; sleep 0.3; done', env: { GREETING: 'hello' }, cwd: '/tmp', restart: 'always' }
		});
		expect(r.status, r.text).toBe(201);
		expect(r.body.data).toMatchObject({ name: 'ticker', computer_id: id, tenant_id: expect.any(String), restart: 'always', cwd: '/tmp', status: 'running', restart_count: 0 });
		expect(r.body.data.pid).toEqual(expect.any(Number));
		expect(r.body.data.id).toMatch(/^[0-9a-f-]{36}$/);
		expectError(await call('POST', svc(), { token: org.key, body: { name: 'ticker', command: 'true' } }), 409, 'CONFLICT');
		const ro = await keyWith(org, ['computers:read']);
		expectError(await call('POST', svc(), { token: ro, body: { name: 'x', command: 'true' } }), 403, 'insufficient_scope');
		const list = await call('GET', svc(), { token: ro });
		expect(list.status, list.text).toBe(200);
		expect(list.body.data.map((s: any) => s.name)).toEqual(['ticker']);
		// By id too.
		expect((await get(r.body.data.id)).name).toBe('ticker');
		expectError(await call('GET', svc('/nope'), { token: org.key }), 404, 'NOT_FOUND');
		const logs = await waitFor(async () => {
			const l = await call('GET', svc('/ticker/logs?tail=50'), { token: org.key });
			expect(l.status, l.text).toBe(200);
			return l.body.data.lines.filter((x: string) => x.startsWith('tick')).length >= 2 && l.body.data;
		}, 10_000, 200);
		expect(logs.lines[0]).toMatch(/^\[hangar\] service ticker: run 1 started at /);
		expect(logs.lines).toContain('tick hello /tmp');
	});

	it('a crashing on-failure service is restarted with backoff until max_restarts; logs show every run', async () => {
		const r = await call('POST', svc(), {
			token: org.key,
			body: { name: 'crasher', command: 'echo "crash run"; sleep 0.3; echo oops >&2; exit 3', restart: 'on-failure', max_restarts: 2, backoff_ms: 200 }
		});
		expect(r.status, r.text).toBe(201);
		const seen = new Set<number>();
		const done = await waitFor(async () => {
			const s = await get('crasher');
			seen.add(s.restart_count);
			return s.status === 'failed' && s;
		}, 20_000, 100);
		expect(done).toMatchObject({ status: 'failed', restart_count: 2, last_exit_code: 3, pid: null });
		expect(done.last_error).toMatch(/restart limit/);
		expect([...seen].length).toBeGreaterThan(1);
		const l = await call('GET', svc('/crasher/logs'), { token: org.key });
		const lines: string[] = l.body.data.lines;
		expect(lines.filter((x) => x === 'crash run')).toHaveLength(3);
		expect(lines.filter((x) => x === 'oops')).toHaveLength(3);
		expect(lines.filter((x) => /run [123] started/.test(x))).toHaveLength(3);
	});

	it('`never` (and `no`) stays down; an on-failure service that exits 0 is not restarted', async () => {
		for (const [name, restart, code] of [
			['never-svc', 'never', 1],
			['no-svc', 'no', 1],
			['clean-exit', 'on-failure', 0]
		] as const) {
			const r = await call('POST', svc(), { token: org.key, body: { name, command: `echo once; exit ${code}`, restart, backoff_ms: 100 } });
			expect(r.status, r.text).toBe(201);
		}
		// Wait until all three runs ended (a loaded machine may take longer than a fixed sleep), then
		// give a restart (backoff 100 ms) time to happen if it wrongly would.
		await waitFor(async () => {
			for (const n of ['never-svc', 'no-svc', 'clean-exit']) if (['starting', 'running', 'backoff'].includes((await get(n)).status)) return false;
			return true;
		}, 15_000, 100);
		await new Promise((r) => setTimeout(r, 1000));
		expect(await get('never-svc')).toMatchObject({ status: 'failed', restart_count: 0, last_exit_code: 1, restart: 'never' });
		expect(await get('no-svc')).toMatchObject({ status: 'failed', restart_count: 0, restart: 'no' });
		expect(await get('clean-exit')).toMatchObject({ status: 'exited', restart_count: 0, last_exit_code: 0 });
		const l = await call('GET', svc('/never-svc/logs'), { token: org.key });
		expect(l.body.data.lines.filter((x: string) => x === 'once')).toHaveLength(1);
	});

	it('a killed `always` service comes back; stop keeps it down, start and restart bring new runs; delete removes it', async () => {
		const before = await get('ticker');
		// Kill it from inside the computer: the supervisor restarts it.
		await sh(`kill -9 ${before.pid}`);
		const back = await waitFor(async () => {
			const s = await get('ticker');
			return s.status === 'running' && s.pid !== before.pid && s;
		}, 15_000, 100);
		expect(back.restart_count).toBe(1);

		const stopped = await call('POST', svc('/ticker/stop'), { token: org.key });
		expect(stopped.status, stopped.text).toBe(200);
		expect(stopped.body.data).toMatchObject({ status: 'stopped', desired_state: 'stopped', pid: null });
		await new Promise((r) => setTimeout(r, 1500));
		expect((await get('ticker')).status).toBe('stopped');
		expect((await sh(`kill -0 ${back.pid} 2>/dev/null && echo alive || echo dead`)).stdout.trim()).toBe('dead');

		const started = await call('POST', svc('/ticker/start'), { token: org.key });
		expect(started.status, started.text).toBe(200);
		expect(started.body.data).toMatchObject({ status: 'running', desired_state: 'running', restart_count: 0 });
		const restarted = await call('POST', svc('/ticker/restart'), { token: org.key });
		expect(restarted.status, restarted.text).toBe(200);
		expect(restarted.body.data.status).toBe('running');
		expect(restarted.body.data.pid).not.toBe(started.body.data.pid);
		expect((await sh(`kill -0 ${started.body.data.pid} 2>/dev/null && echo alive || echo dead`)).stdout.trim()).toBe('dead');
		await new Promise((r) => setTimeout(r, 1000));
		expect((await get('ticker')).pid).toBe(restarted.body.data.pid);

		const logs = await call('GET', svc('/ticker/logs?tail=1000'), { token: org.key });
		expect(logs.body.data.lines.filter((x: string) => /^\[hangar\] service ticker: run/.test(x)).length).toBeGreaterThanOrEqual(4);

		const del = await call('DELETE', svc('/ticker'), { token: org.key });
		expect(del.status, del.text).toBe(200);
		expect(del.body.data).toMatchObject({ name: 'ticker', deleted: true });
		expectError(await call('GET', svc('/ticker'), { token: org.key }), 404, 'NOT_FOUND');
		expect((await sh(`kill -0 ${restarted.body.data.pid} 2>/dev/null && echo alive || echo dead`)).stdout.trim()).toBe('dead');
	});

	it('files: write, upload, list, readdir, stat, download, export, mkdir/rename/copy/chmod, delete', async () => {
		const f = (p: string) => `/computers/${id}/files${p}`;
		const w = await call('POST', f('/write'), { token: org.key, body: { path: '/home/user/notes/a.txt', content_base64: Buffer.from('hello computer').toString('base64') } });
		expect(w.status, w.text).toBe(200);
		expect(w.body).toMatchObject({ name: 'a.txt', path: '/home/user/notes/a.txt', size: 14, is_dir: false });
		const w2 = await call('POST', f('/write'), { token: org.key, body: { path: '/home/user/notes/b.txt', content: 'plain' } });
		expect(w2.status, w2.text).toBe(200);

		const form = new FormData();
		form.append('path', '/home/user/notes/');
		form.append('file', new Blob([Buffer.from('uploaded bytes')]), 'up.bin');
		const up = await fetch(`${baseUrl()}/api/v1/computers/${id}/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${org.key}` }, body: form });
		const upBody = await up.json();
		expect(up.status, JSON.stringify(upBody)).toBe(201);
		expect(upBody).toMatchObject({ success: true, file: { path: '/home/user/notes/up.bin', filename: 'up.bin', size_bytes: 14 } });

		const list = await call('GET', f('?path=/home/user/notes'), { token: org.key });
		expect(list.status, list.text).toBe(200);
		expect(list.body.path).toBe('/home/user/notes');
		expect(list.body.entries.map((e: any) => e.name).sort()).toEqual(['a.txt', 'b.txt', 'up.bin']);
		expect(list.body.files).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'a.txt', type: 'file', size_bytes: 14 })]));

		const rd = await call('GET', f('/readdir?path=/home/user'), { token: org.key });
		expect(rd.status, rd.text).toBe(200);
		expect(rd.body.data.entries).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'notes', is_dir: true, is_symlink: false })]));

		const st = await call('POST', f('/stat'), { token: org.key, body: { path: '/home/user/notes/a.txt' } });
		expect(st.status, st.text).toBe(200);
		expect(st.body.data).toMatchObject({ path: '/home/user/notes/a.txt', size: 14, is_dir: false, is_symlink: false, mode: expect.any(Number) });
		expect((await call('GET', f('/stat?path=/home/user/notes'), { token: org.key })).body.data.is_dir).toBe(true);

		const dl = await fetch(`${baseUrl()}/api/v1/computers/${id}/files/download?path=/home/user/notes/up.bin`, { headers: { authorization: `Bearer ${org.key}` } });
		expect(dl.status).toBe(200);
		expect(await dl.text()).toBe('uploaded bytes');

		const ex = await call('POST', f('/export'), { token: org.key, body: { path: '/home/user/notes/a.txt' } });
		expect(ex.status, ex.text).toBe(200);
		expect(ex.body.data).toBeUndefined();
		expect(ex.body).toMatchObject({ url: expect.stringContaining('/files/export/download?ticket='), expires_at: expect.stringMatching(/Z$/) });
		const exDl = await fetch(ex.body.url);
		expect(exDl.status).toBe(200);
		expect(await exDl.text()).toBe('hello computer');
		expect((await fetch(ex.body.url)).status).toBe(401); // single use

		expect((await call('POST', f('/mkdir'), { token: org.key, body: { path: '/home/user/notes/sub/deep', recursive: true, mode: '0755' } })).status).toBe(201);
		const mv = await call('POST', f('/rename'), { token: org.key, body: { from: '/home/user/notes/b.txt', to: '/home/user/notes/sub/b2.txt' } });
		expect(mv.status, mv.text).toBe(200);
		const cp = await call('POST', f('/copy'), { token: org.key, body: { from: '/home/user/notes/a.txt', to: '/home/user/notes/sub/a-copy.txt', recursive: false } });
		expect(cp.status, cp.text).toBe(200);
		const ch = await call('POST', f('/chmod'), { token: org.key, body: { path: '/home/user/notes/sub/a-copy.txt', mode: '0600' } });
		expect(ch.status, ch.text).toBe(200);
		expect(ch.body.data.permissions).toBe('0600');
		expect((await sh('cat /home/user/notes/sub/b2.txt /home/user/notes/sub/a-copy.txt')).stdout).toBe('plainhello computer');

		const del = await call('DELETE', f(''), { token: org.key, body: { path: '/home/user/notes/up.bin' } });
		expect(del.status, del.text).toBe(200);
		expectError(await call('POST', f('/stat'), { token: org.key, body: { path: '/home/user/notes/up.bin' } }), 404, 'NOT_FOUND');
		expectError(await call('GET', f('/download?path=/proc/1/environ'), { token: org.key }), 403, 'FORBIDDEN_PATH');
		const ro = await keyWith(org, ['computers:read']);
		expect((await call('GET', f('?path=/home/user/notes'), { token: ro })).status).toBe(200);
		expectError(await call('POST', f('/write'), { token: ro, body: { path: '/home/user/x', content: 'x' } }), 403, 'insufficient_scope');
	});

	it('clone: a new computer with the files and services; resize moves it to a sandbox of the new size', async () => {
		await sh('echo cloned-content > /home/user/clone-me.txt');
		const web = await call('POST', svc(), { token: org.key, body: { name: 'web', command: 'while true; do echo serving; sleep 1; done', restart: 'always' } });
		expect(web.status, web.text).toBe(201);

		const t0 = performance.now();
		const cl = await call('POST', `/computers/${id}/clone`, { token: org.key, body: { name: 'Cloned Desk' } });
		console.log(`clone → ${cl.body?.data?.status} in ${Math.round(performance.now() - t0)} ms`);
		expect(cl.status, cl.text).toBe(201);
		const clone = cl.body.data;
		expect(clone).toMatchObject({ name: 'Cloned Desk', status: 'active', size: 'small' });
		expect(clone.id).not.toBe(id);
		try {
			const cat = await call('POST', `/computers/${clone.id}/exec`, { token: org.key, body: { command: 'cat /home/user/clone-me.txt' } });
			expect(cat.body.stdout).toBe('cloned-content\n');
			const cs = await waitFor(async () => {
				const l = await call('GET', `/computers/${clone.id}/services`, { token: org.key });
				const w = l.body.data.find((x: any) => x.name === 'web');
				return w?.status === 'running' && w;
			}, 10_000, 200);
			expect(cs.sandbox_id).toBe(clone.sandbox_id);
			// The source is untouched.
			expect((await get('web')).status).toBe('running');
		} finally {
			await call('DELETE', `/computers/${clone.id}`, { token: org.key });
		}

		const before = (await call('GET', `/computers/${id}`, { token: org.key })).body;
		const t1 = performance.now();
		const rs = await call('POST', `/computers/${id}/resize`, { token: org.key, body: { size: 'medium' } });
		console.log(`resize → ${rs.body?.status} in ${Math.round(performance.now() - t1)} ms`);
		expect(rs.status, rs.text).toBe(200);
		expect(rs.body).toMatchObject({ id, size: 'medium', cpu_count: 2, memory_mb: 8192, status: 'active' });
		expect(rs.body.sandbox_id).not.toBe(before.sandbox_id);
		const sb = await call('GET', `/sandboxes/${rs.body.sandbox_id}`, { token: org.key });
		expect(sb.body.data.size ?? sb.body.size).toBe('medium');
		expect((await sh('cat /home/user/clone-me.txt')).stdout).toBe('cloned-content\n');
		const moved = await waitFor(async () => {
			const w = await get('web');
			return w.status === 'running' && w.sandbox_id === rs.body.sandbox_id && w;
		}, 10_000, 200);
		expect(moved.pid).toEqual(expect.any(Number));
		const old = await call('GET', `/sandboxes/${before.sandbox_id}`, { token: org.key });
		expect(old.body.data?.state ?? old.body.state).toBe('destroyed');
		expectError(await call('POST', `/computers/${id}/resize`, { token: org.key, body: { size: 'huge' } }), 422, 'VALIDATION_ERROR');
	});

	it('a stopped computer refuses new services (409 COMPUTER_NOT_RUNNING)', async () => {
		const s = await call('POST', `/computers/${id}/stop`, { token: org.key });
		expect(s.status, s.text).toBe(200);
		expectError(await call('POST', svc(), { token: org.key, body: { name: 'late', command: 'true' } }), 409, 'COMPUTER_NOT_RUNNING');
		expectError(await call('GET', `/computers/${id}/files?path=/home/user`, { token: org.key }), 409, 'COMPUTER_NOT_RUNNING');
		const list = await call('GET', svc(), { token: org.key });
		expect(list.status).toBe(200);
		const st = await call('POST', `/computers/${id}/start`, { token: org.key });
		expect(st.status, st.text).toBe(200);
	});
});

describe.skipIf(missing.length > 0)('computer services across a control-plane crash', () => {
	it('an exit missed while the control plane was down is noticed after it comes back, and the service restarted', async () => {
		const env = { HANGAR_LOCAL_AGENT: '0' };
		const dbKind = inject('dbKind') as 'pglite' | 'postgres';
		const first = await startServer({ db: dbKind, env });
		let second: TestServer | null = null;
		let agent: TestAgent | null = null;
		let base = first.baseUrl;
		const req = apiAt(() => base);
		try {
			const s = await req('POST', '/auth/signup', { body: { email: `svc-crash-${Date.now()}@example.test`, password: 'correct horse battery', name: 'Svc', organization_name: 'Svc crash' } });
			expect(s.status, s.text).toBe(201);
			const token = s.body.data.token;
			const h = await req('POST', '/hosts', { token, body: { name: 'svc-crash-host', shared: true } });
			expect(h.status, h.text).toBe(201);
			// A separate agent process: it keeps the computer running while the control plane is down.
			agent = startAgent({ baseUrl: first.baseUrl, key: h.body.data.key, name: 'svc-crash-host' });
			await waitFor(async () => ((await req('GET', '/health')).body?.hosts_online ?? 0) > 0, 60_000, 200);
			const c = await req('POST', '/computers', { token, body: { name: 'Crash Desk' } });
			expect(c.status, c.text).toBe(201);
			const cid = c.body.id;
			await waitFor(async () => {
				const g = await req('GET', `/computers/${cid}`, { token });
				if (g.body.status === 'error') throw new Error(g.text);
				return g.body.status === 'active';
			}, 120_000, 300);
			const svcRes = await req('POST', `/computers/${cid}/services`, {
				token,
				body: { name: 'late-crash', command: 'echo started; sleep 3; exit 7', restart: 'on-failure', backoff_ms: 200, max_restarts: 5 }
			});
			expect(svcRes.status, svcRes.text).toBe(201);

			first.proc.kill('SIGKILL');
			await new Promise((r) => (first.proc.exitCode !== null || first.proc.signalCode !== null ? r(null) : first.proc.once('exit', r)));
			// The run exits while nobody listens.
			await new Promise((r) => setTimeout(r, 4500));

			second = await startServer({ db: dbKind, env, dataDir: first.dataDir, databaseUrl: first.databaseUrl ?? undefined, port: first.port });
			base = second.baseUrl;
			await waitFor(async () => ((await req('GET', '/health')).body?.hosts_online ?? 0) > 0, 60_000, 200);
			const back = await waitFor(async () => {
				const g = await req('GET', `/computers/${cid}/services/late-crash`, { token });
				return g.body?.data?.restart_count >= 1 && g.body.data;
			}, 60_000, 300);
			expect(back.last_exit_code).toBe(7);
			const logs = await req('GET', `/computers/${cid}/services/late-crash/logs`, { token });
			expect(logs.body.data.lines.filter((l: string) => l === 'started').length).toBeGreaterThanOrEqual(2);
		} finally {
			await agent?.kill();
			if (second) await second.stop();
			await first.stop();
		}
	}, 240_000);
});
