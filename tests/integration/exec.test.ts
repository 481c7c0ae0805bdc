import { describe, expect, it } from 'vitest';
import { baseUrl, call, createSandbox, exec, expectError, newOrg, readSse, waitFor } from './helpers';

describe('exec and processes', () => {
	it('runs commands with exit codes, stderr, cwd and env', async () => {
		const org = await newOrg();
		const s = await createSandbox(org, { env: { GREETING: 'hello-env' } });
		const r = await exec(org, s.id, 'echo out; echo err >&2; exit 3');
		expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exit_code: 3, timed_out: false });
		expect(r.duration_ms).toBeGreaterThanOrEqual(0);
		expect((await exec(org, s.id, 'echo $GREETING')).stdout).toBe('hello-env\n');
		expect((await exec(org, s.id, 'echo $A-$GREETING', { env: { A: 'x', GREETING: 'over' } })).stdout).toBe('x-over\n');
		expect((await exec(org, s.id, 'pwd')).stdout).toBe('/workspace\n');
		await exec(org, s.id, 'mkdir -p /workspace/sub');
		expect((await exec(org, s.id, 'pwd', { cwd: '/workspace/sub' })).stdout).toBe('/workspace/sub\n');
		expect((await exec(org, s.id, 'id -u')).stdout).toBe('1000\n');
		expect((await exec(org, s.id, 'cat', { stdin: 'piped input' })).stdout).toBe('piped input');
		const argv = await call('POST', `/sandboxes/${s.id}/exec`, { token: org.key, body: { command: ['printf', '%s|', 'a b', "c'd"] } });
		expect(argv.body.stdout).toBe("a b|c'd|");
		const sdkForm = await call('POST', `/sandboxes/${s.id}/exec`, { token: org.key, body: { cmd: 'echo', args: ['one', 'two'] } });
		expect(sdkForm.body.stdout).toBe('one two\n');
		expect(sdkForm.body.data.stdout).toBe('one two\n');
		expectError(await call('POST', `/sandboxes/${s.id}/exec`, { token: org.key, body: {} }), 422, 'VALIDATION_ERROR');
		// Files written by one command are there for the next.
		await exec(org, s.id, 'echo persisted > /workspace/f.txt');
		expect((await exec(org, s.id, 'cat /workspace/f.txt')).stdout).toBe('persisted\n');
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('kills a command at its timeout', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const t0 = Date.now();
		const r = await exec(org, s.id, 'sleep 30; echo never', { timeout: 1 });
		expect(r.timed_out).toBe(true);
		expect(r.stdout).toBe('');
		expect(r.exit_code).not.toBe(0);
		expect(Date.now() - t0).toBeLessThan(15_000);
		// The sandbox is still usable.
		expect((await exec(org, s.id, 'echo ok')).stdout).toBe('ok\n');
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('streams output in order as SSE, ending with the exit code', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const res = await fetch(`${baseUrl()}/api/v1/sandboxes/${s.id}/exec/stream`, {
			method: 'POST',
			headers: { authorization: `Bearer ${org.key}`, 'content-type': 'application/json', accept: 'text/event-stream' },
			body: JSON.stringify({ command: 'for i in 1 2 3 4 5; do echo line$i; sleep 0.05; done; echo oops >&2; exit 7' })
		});
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toContain('text/event-stream');
		const frames = await readSse(res, (f) => f.data?.type === 'exit');
		const data = frames.map((f) => f.data);
		expect(data.filter((d) => d.type === 'stdout').map((d) => d.line)).toEqual(['line1', 'line2', 'line3', 'line4', 'line5']);
		expect(data.filter((d) => d.type === 'stderr').map((d) => d.line)).toEqual(['oops']);
		expect(data.at(-1)).toMatchObject({ type: 'exit', exit_code: 7 });
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('POST /sandboxes/run creates and runs in one call', async () => {
		const org = await newOrg();
		const r = await call('POST', '/sandboxes/run', { token: org.key, body: { template_id: 'host-minimal', command: 'echo fused; uname -n' } });
		expect(r.status, r.text).toBe(201);
		expect(r.body.exec).toMatchObject({ exit_code: 0 });
		expect(r.body.exec.stdout).toContain('fused\n');
		expect(r.body.data.sandbox.state).toBe('running');
		expect(r.body.timings.total_ms).toBeGreaterThanOrEqual(0);
		const gone = await call('POST', '/sandboxes/run', { token: org.key, body: { template_id: 'host-minimal', command: 'true', destroy_after: true } });
		expect(gone.body.data.sandbox.state).toBe('destroyed');
		await call('DELETE', `/sandboxes/${r.body.data.sandbox.id}`, { token: org.key });
	});

	it('manages background processes: logs, stdin, signals, exit', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const start = await call('POST', `/sandboxes/${s.id}/processes`, {
			token: org.key,
			body: { command: 'echo started; while read line; do echo "got:$line"; done; echo bye; exit 4', name: 'reader' }
		});
		expect(start.status, start.text).toBe(201);
		const pid = start.body.data.pid;
		expect(start.body.data).toMatchObject({ name: 'reader', state: 'running' });
		await call('POST', `/sandboxes/${s.id}/processes/${pid}/stdin`, { token: org.key, body: { data: 'first\nsecond\n' } });
		await waitFor(async () => {
			const l = await call('GET', `/sandboxes/${s.id}/processes/${pid}/logs`, { token: org.key });
			return l.body.data.lines.some((x: any) => x.line === 'got:second');
		});
		await call('POST', `/sandboxes/${s.id}/processes/${pid}/stdin`, { token: org.key, body: { eof: true } });
		const done = await waitFor(async () => {
			const g = await call('GET', `/sandboxes/${s.id}/processes/${pid}`, { token: org.key });
			return g.body.data.state === 'exited' ? g.body.data : null;
		});
		expect(done.exit_code).toBe(4);
		const logs = await call('GET', `/sandboxes/${s.id}/processes/${pid}/logs?format=text`, { token: org.key });
		expect(logs.text).toBe('started\ngot:first\ngot:second\nbye');

		const sleeper = await call('POST', `/sandboxes/${s.id}/processes`, { token: org.key, body: { command: 'sleep 300' } });
		const spid = sleeper.body.data.pid;
		const sig = await call('POST', `/sandboxes/${s.id}/processes/${spid}/signal`, { token: org.key, body: { signal: 'SIGTERM' } });
		expect(sig.status, sig.text).toBe(200);
		const killed = await waitFor(async () => {
			const g = await call('GET', `/sandboxes/${s.id}/processes/${spid}`, { token: org.key });
			return g.body.data.state === 'exited' ? g.body.data : null;
		});
		expect(killed.signal ?? killed.exit_code).toBeTruthy();
		const stopper = await call('POST', `/sandboxes/${s.id}/processes`, { token: org.key, body: { command: 'sleep 300' } });
		const stopped = await call('DELETE', `/sandboxes/${s.id}/processes/${stopper.body.data.pid}`, { token: org.key });
		expect(stopped.body.data.state).toBe('exited');
		const list = await call('GET', `/sandboxes/${s.id}/processes`, { token: org.key });
		expect(list.body.data.map((p: any) => p.pid)).toEqual(expect.arrayContaining([pid, spid]));
		expectError(await call('GET', `/sandboxes/${s.id}/processes/999999`, { token: org.key }), 404, 'NOT_FOUND');
		expectError(await call('GET', `/sandboxes/${s.id}/processes/abc`, { token: org.key }), 400, 'INVALID_ID');
		expectError(await call('POST', `/sandboxes/${s.id}/processes/${spid}/signal`, { token: org.key, body: { signal: 'NOPE' } }), 422, 'VALIDATION_ERROR');
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('follows a process log as SSE until it exits', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const p = await call('POST', `/sandboxes/${s.id}/processes`, { token: org.key, body: { command: 'for i in 1 2 3; do echo tick$i; sleep 0.2; done' } });
		const res = await fetch(`${baseUrl()}/api/v1/sandboxes/${s.id}/processes/${p.body.data.pid}/logs/stream`, { headers: { authorization: `Bearer ${org.key}` } });
		const frames = await readSse(res, (f) => f.data?.type === 'exit', 15_000);
		expect(frames.filter((f) => f.data.type === 'stdout').map((f) => f.data.line)).toEqual(['tick1', 'tick2', 'tick3']);
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

});
