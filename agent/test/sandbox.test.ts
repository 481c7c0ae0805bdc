/**
 * Sandbox lifecycle, exec, processes, pause/resume and the warm pool — against real bwrap
 * sandboxes, driven through the real hub over a local WebSocket.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExecProgress } from '../../src/lib/protocol/index';
import type { Agent } from '../main';
import {
	HOST_ID,
	SIZE,
	cleanupDir,
	mountsUnder,
	sid,
	startControlPlane,
	startTestAgent,
	tempDir,
	waitFor,
	type TestControlPlane
} from './harness';

let cp: TestControlPlane;
let agent: Agent;
let dir: string;

beforeAll(async () => {
	dir = tempDir('sandbox');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir, poolSize: 1 });
});

afterAll(async () => {
	await agent?.stop();
	await cp?.close();
	if (dir) await cleanupDir(dir);
});

const call = <M extends Parameters<TestControlPlane['hub']['call']>[1]>(
	method: M,
	params: Parameters<typeof cp.hub.call<M>>[2],
	opts?: Parameters<typeof cp.hub.call<M>>[3]
) => cp.hub.call(HOST_ID, method, params, opts);

async function create(extra: Partial<Parameters<typeof cp.hub.call<'sandbox.create'>>[2]> = {}) {
	const id = sid();
	const r = await call('sandbox.create', { id, template: 'host-minimal', size: SIZE, ...extra });
	return { id, ...r };
}

const sh = (sandbox_id: string, command: string, extra: Record<string, unknown> = {}) =>
	call('exec.run', { sandbox_id, command, ...extra });

describe('exec', () => {
	let id: string;
	beforeAll(async () => {
		({ id } = await create({ env: { GREETING: 'hello', SHARED: 'sandbox' } }));
	});
	afterAll(async () => {
		await call('sandbox.destroy', { id });
	});

	test('exit codes, stdout, stderr', async () => {
		const r = await sh(id, 'echo out; echo err >&2; exit 7');
		expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exit_code: 7, timed_out: false, truncated: false });
		expect((await sh(id, 'true')).exit_code).toBe(0);
		expect((await sh(id, 'exit 255')).exit_code).toBe(255);
		expect((await sh(id, 'no-such-command-xyz')).exit_code).toBe(127);
	});

	test('identity, cwd, env, stdin', async () => {
		const r = await sh(id, 'id -u; id -g; hostname; pwd; echo $HOME $USER; echo $GREETING $SHARED $PERCALL');
		expect(r.stdout.split('\n')).toEqual(['1000', '1000', 'sandbox', '/workspace', '/home/user user', 'hello sandbox', '']);
		const withEnv = await sh(id, 'echo $SHARED $PERCALL', { env: { SHARED: 'call-wins', PERCALL: 'yes' } });
		expect(withEnv.stdout).toBe('call-wins yes\n');
		expect((await sh(id, 'pwd', { cwd: '/tmp' })).stdout).toBe('/tmp\n');
		expect((await sh(id, 'cat', { stdin: 'piped input' })).stdout).toBe('piped input');
		expect((await sh(id, 'echo $0; echo $BASH_VERSION | cut -c1', { shell: 'bash' })).stdout).toMatch(/bash\n5\n/);
		// env from the host does not leak in
		expect((await sh(id, 'env')).stdout).not.toMatch(/HANGAR_|VITEST|npm_/);
	}, 30_000);

	test('workspace persists between execs, /tmp is private and writable', async () => {
		await sh(id, 'echo data > /workspace/file && echo t > /tmp/t && mkdir -p ~/.config && echo c > ~/.config/x');
		expect((await sh(id, 'cat /workspace/file /tmp/t ~/.config/x')).stdout).toBe('data\nt\nc\n');
	});

	test('streaming: ordered chunks tagged by stream before the result', async () => {
		const chunks: ExecProgress[] = [];
		let resolvedAfter = -1;
		const r = await call(
			'exec.run',
			{
				sandbox_id: id,
				command: 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; sleep 0.05; done',
				stream: true
			},
			{ onProgress: (c) => chunks.push(c) }
		).then((x) => {
			resolvedAfter = chunks.length;
			return x;
		});
		expect(resolvedAfter).toBe(chunks.length);
		const out = chunks.filter((c) => c.stream === 'stdout').map((c) => c.data).join('');
		const err = chunks.filter((c) => c.stream === 'stderr').map((c) => c.data).join('');
		expect(out).toBe('out1\nout2\nout3\nout4\nout5\n');
		expect(err).toBe('err1\nerr2\nerr3\nerr4\nerr5\n');
		expect(r.stdout).toBe(out);
		// with 50 ms between lines, both streams arrive interleaved, in order
		const tags = chunks.map((c) => c.data.trim()).join(' ');
		expect(tags.indexOf('out1')).toBeLessThan(tags.indexOf('err2'));
		expect(tags.indexOf('err1')).toBeLessThan(tags.indexOf('out2'));
	});

	test('timeout kills the whole process group', async () => {
		const t0 = Date.now();
		const r = await sh(id, '(sleep 30; echo never) & sleep 30 & echo started; wait', { timeout_ms: 500 });
		expect(r.timed_out).toBe(true);
		expect(r.stdout).toBe('started\n');
		expect(Date.now() - t0).toBeLessThan(10_000);
		// no sleep left in the sandbox
		const ps = await sh(id, 'ps -eo comm | grep -c sleep || true');
		expect(ps.stdout.trim()).toBe('0');
	});

	test('cancel via abort signal and exec.kill', async () => {
		const ac = new AbortController();
		const p = call('exec.run', { sandbox_id: id, command: 'sleep 30' }, { signal: ac.signal });
		setTimeout(() => ac.abort(), 200);
		await expect(p).rejects.toThrow(/cancelled/);
		await waitFor(async () => (await sh(id, 'ps -eo comm | grep -c "^sleep" || true')).stdout.trim() === '0', 5000, 'sleep killed');

		const p2 = call('exec.run', { sandbox_id: id, command: 'sleep 30', exec_id: 'e1' });
		await waitFor(async () => (await call('exec.kill', { exec_id: 'e1' })).killed, 5000, 'exec.kill');
		const r2 = await p2;
		expect(r2.killed).toBe(true);
		expect(r2.exit_code).toBe(137);
	});

	test('output cap truncates', async () => {
		const r = await sh(id, 'head -c 11000000 /dev/zero | tr "\\0" a', { timeout_ms: 30_000 });
		expect(r.truncated).toBe(true);
		expect(r.stdout.length).toBe(10 * 1024 * 1024);
	}, 40_000);

	test('errors: unknown sandbox, unknown template', async () => {
		await expect(sh('nope', 'true')).rejects.toMatchObject({ name: 'AgentError', code: 'SANDBOX_NOT_FOUND' });
		await expect(call('sandbox.create', { id: sid(), template: 'nope', size: SIZE })).rejects.toMatchObject({
			code: 'TEMPLATE_NOT_FOUND'
		});
		await expect(call('sandbox.create', { id, template: 'host-minimal', size: SIZE })).rejects.toMatchObject({
			code: 'SANDBOX_EXISTS'
		});
	});
});

describe('lifecycle', () => {
	test('stats, list, destroy leaves nothing behind', async () => {
		const { id } = await create();
		const sb = agent.manager.get(id);
		const stats = await call('sandbox.stats', { id });
		expect(stats.pids).toBeGreaterThanOrEqual(1);
		expect(stats.memory_bytes).toBeGreaterThan(0);
		expect((await call('sandbox.list', {})).sandboxes.map((s) => s.id)).toContain(id);
		const procs = await sb.cg.pids();
		expect(procs.length).toBeGreaterThanOrEqual(2);
		await call('process.start', { sandbox_id: id, command: 'sleep 1000' });
		const cgDirs = (sb.cg as unknown as { dirs: string[] }).dirs;
		expect(cgDirs.every((d) => existsSync(d))).toBe(true);

		expect(await call('sandbox.destroy', { id })).toEqual({ destroyed: true });
		const alive = (p: number) => {
			try {
				return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
			} catch {
				return false;
			}
		};
		// (zombies reparented to the host's init don't count: they hold no resources)
		await waitFor(() => [...procs, sb.inst.outerPid, sb.inst.initPid].every((p) => !alive(p)), 3000, 'processes gone');
		expect(cgDirs.some((d) => existsSync(d))).toBe(false);
		expect(existsSync(sb.dir)).toBe(false);
		expect(mountsUnder(dir)).toEqual([]);
		expect((await call('sandbox.list', {})).sandboxes.map((s) => s.id)).not.toContain(id);
		expect(await call('sandbox.destroy', { id })).toEqual({ destroyed: false });
	});

	test('pause freezes processes, resume continues', async () => {
		const { id } = await create();
		const p = await call('process.start', {
			sandbox_id: id,
			command: 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.02; done',
			name: 'counter'
		});
		const read = async () => Number((await sh(id, 'cat /tmp/counter')).stdout.trim() || 0);
		await waitFor(async () => (await read()) > 2, 10_000, 'counter running');
		await call('sandbox.pause', { id });
		expect((await call('sandbox.get', { id })).state).toBe('paused');
		await expect(sh(id, 'true')).rejects.toMatchObject({ code: 'SANDBOX_PAUSED' });
		const frozenAt = Number(readFileSync(path.join(agent.manager.get(id).dir, 'upper/tmp/counter'), 'utf8').trim());
		await new Promise((r) => setTimeout(r, 400));
		const stillAt = Number(readFileSync(path.join(agent.manager.get(id).dir, 'upper/tmp/counter'), 'utf8').trim());
		expect(stillAt).toBe(frozenAt);
		expect((await call('process.get', { sandbox_id: id, pid: p.pid })).state).toBe('running');
		await call('sandbox.resume', { id });
		await waitFor(async () => (await read()) > stillAt + 3, 10_000, 'counter advancing after resume');
		expect((await call('process.get', { sandbox_id: id, pid: p.pid })).state).toBe('running');
		await call('sandbox.destroy', { id });
	});

	test('warm pool: claim is faster than a cold boot', async () => {
		await agent.pool.settle();
		await waitFor(() => agent.pool.count() >= 1, 10_000, 'pool filled');
		const warm = await create({ env: { X: '1' }, hostname: 'custom-host' });
		expect(warm.boot_path).toBe('warm');
		expect((await sh(warm.id, 'echo $X; hostname')).stdout).toBe('1\ncustom-host\n');
		// empty the pool so the next create boots cold
		await agent.pool.resize(0);
		expect(agent.pool.count()).toBe(0);
		const cold = await create();
		await agent.pool.resize(1);
		expect(cold.boot_path).toBe('cold');
		expect(warm.boot_ms).toBeLessThan(cold.boot_ms);
		await call('sandbox.destroy', { id: warm.id });
		await call('sandbox.destroy', { id: cold.id });
		await agent.pool.settle();
	});

	test('unexpected death is reported as sandbox.exited', async () => {
		const { id } = await create();
		process.kill(agent.manager.get(id).inst.outerPid, 'SIGKILL');
		const ev = await waitFor(
			() => cp.events.find((e) => e.name === 'sandbox.exited' && (e.data as { sandbox_id: string }).sandbox_id === id),
			10_000,
			'sandbox.exited'
		);
		expect((ev.data as { reason: string }).reason).toMatch(/SIGKILL/);
		await waitFor(async () => !(await call('sandbox.list', {})).sandboxes.some((s) => s.id === id), 5000, 'gone from list');
	});
});

describe('background processes', () => {
	let id: string;
	beforeAll(async () => {
		({ id } = await create());
	});
	afterAll(async () => {
		await call('sandbox.destroy', { id });
	});

	test('start, list, logs, stdin, exit event', async () => {
		const p = await call('process.start', {
			sandbox_id: id,
			command: 'echo ready; echo warn >&2; while read line; do echo "got:$line"; done; echo bye; exit 4',
			name: 'reader'
		});
		expect(p).toMatchObject({ name: 'reader', state: 'running' });
		expect(p.pid).toBeGreaterThan(1);
		expect((await call('process.list', { sandbox_id: id })).processes.map((x) => x.pid)).toContain(p.pid);
		// the pid is the in-sandbox pid
		expect((await sh(id, `cat /proc/${p.pid}/cmdline | tr '\\0' ' '`)).stdout).toContain('while read line');
		await call('process.stdin', { sandbox_id: id, pid: p.pid, data: 'one\ntwo\n' });
		await waitFor(async () => (await call('process.logs', { sandbox_id: id, pid: p.pid })).lines.some((l) => l.line === 'got:two'), 5000, 'stdin echoed');
		await call('process.stdin', { sandbox_id: id, pid: p.pid, eof: true });
		const ev = await waitFor(
			() => cp.events.find((e) => e.name === 'process.exited' && (e.data as { pid: number }).pid === p.pid),
			5000,
			'process.exited'
		);
		expect(ev.data).toMatchObject({ sandbox_id: id, exit_code: 4, name: 'reader' });
		const logs = await call('process.logs', { sandbox_id: id, pid: p.pid });
		expect(logs.lines.map((l) => `${l.stream}:${l.line}`)).toEqual([
			'stdout:ready',
			'stderr:warn',
			'stdout:got:one',
			'stdout:got:two',
			'stdout:bye'
		]);
		expect((await call('process.logs', { sandbox_id: id, pid: p.pid, tail: 2 })).lines.map((l) => l.line)).toEqual([
			'got:two',
			'bye'
		]);
		expect(await call('process.get', { sandbox_id: id, pid: p.pid })).toMatchObject({ state: 'exited', exit_code: 4 });
	});

	test('signals and stop (TERM, then KILL after grace)', async () => {
		const a = await call('process.start', { sandbox_id: id, command: 'sleep 1000' });
		await call('process.signal', { sandbox_id: id, pid: a.pid, signal: 'TERM' });
		await waitFor(async () => (await call('process.get', { sandbox_id: id, pid: a.pid })).state === 'exited', 5000, 'TERM');
		expect(await call('process.get', { sandbox_id: id, pid: a.pid })).toMatchObject({ signal: 'SIGTERM' });

		const b = await call('process.start', { sandbox_id: id, command: 'trap "" TERM; echo armed; while true; do sleep 0.1; done' });
		await waitFor(async () => (await call('process.logs', { sandbox_id: id, pid: b.pid })).lines.length > 0, 5000, 'trap armed');
		const t0 = Date.now();
		const stopped = await call('process.stop', { sandbox_id: id, pid: b.pid, grace_ms: 300 });
		expect(stopped.state).toBe('exited');
		expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
		await expect(call('process.get', { sandbox_id: id, pid: 99999 })).rejects.toMatchObject({ code: 'PROCESS_NOT_FOUND' });
	});

	test('follow logs over a process-logs channel', async () => {
		const p = await call('process.start', {
			sandbox_id: id,
			command: 'echo first; read x; echo second; echo third >&2'
		});
		await waitFor(async () => (await call('process.logs', { sandbox_id: id, pid: p.pid })).lines.length > 0, 5000, 'first line');
		const ch = await cp.hub.openChannel(HOST_ID, 'process-logs', { sandbox_id: id, pid: p.pid, tail: 10 });
		const received: string[] = [];
		ch.on('data', (c: Buffer) => received.push(c.toString()));
		const ended = new Promise((r) => ch.on('end', r));
		await call('process.stdin', { sandbox_id: id, pid: p.pid, data: 'go\n' });
		await ended;
		const lines = received
			.join('')
			.trim()
			.split('\n')
			.map((l) => JSON.parse(l));
		expect(lines[0]).toEqual({ stream: 'stdout', data: 'first\n' });
		expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.data).join('')).toBe('first\nsecond\n');
		expect(lines.some((l) => l.stream === 'stderr' && l.data === 'third\n')).toBe(true);
		expect(lines.at(-1)).toEqual({ exit_code: 0, signal: null });
	});
});

describe('channels', () => {
	test('100 MB through an echo channel with bounded memory', async () => {
		const ch = await cp.hub.openChannel(HOST_ID, 'echo', {});
		const total = 100 * 1024 * 1024;
		const block = Buffer.alloc(256 * 1024, 7);
		let received = 0;
		let maxBuffered = 0;
		const done = new Promise<void>((resolve, reject) => {
			ch.on('data', (c: Buffer) => {
				received += c.length;
				if (received >= total) resolve();
			});
			ch.on('error', reject);
		});
		const rss0 = process.memoryUsage().rss;
		let maxRss = rss0;
		for (let sent = 0; sent < total; sent += block.length) {
			if (!ch.write(block)) await new Promise((r) => ch.once('drain', r));
			maxBuffered = Math.max(maxBuffered, ch.writableLength);
			maxRss = Math.max(maxRss, process.memoryUsage().rss);
		}
		await done;
		ch.end();
		expect(received).toBe(total);
		// the stream's own buffer stays bounded; process growth well below the payload size
		expect(maxBuffered).toBeLessThanOrEqual(2 * 1024 * 1024);
		expect(maxRss - rss0).toBeLessThan(80 * 1024 * 1024);
	}, 60_000);
});
