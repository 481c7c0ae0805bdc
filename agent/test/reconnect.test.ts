/**
 * Connection behaviour: hello/reconnect reporting and welcome.destroy (in-process agent), and a
 * separately spawned bundled agent killed with SIGKILL: its sandboxes die with it, and the next
 * start cleans up the leftovers and reports no sandboxes.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { detectCgroupMode } from '../cgroups';
import { agentTag } from '../sandboxes';
import type { Agent } from '../main';
import {
	HOST_ID,
	HOST_KEY,
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

const root = path.resolve(import.meta.dirname, '../..');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
	for (const c of cleanups.reverse()) await c();
});

function cgroupKeys(dataDir: string): string[] {
	const base =
		detectCgroupMode() === 'v2'
			? path.join('/sys/fs/cgroup/hangar', agentTag(dataDir))
			: path.join('/sys/fs/cgroup/pids/hangar', agentTag(dataDir));
	try {
		return readdirSync(base, { withFileTypes: true })
			.filter((e) => e.isDirectory())
			.map((e) => e.name);
	} catch {
		return [];
	}
}

const alive = (pid: number) => {
	try {
		return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
	} catch {
		return false;
	}
};

describe('in-process agent', () => {
	test('reconnects, reports running sandboxes in hello, destroys what welcome lists', async () => {
		const dir = tempDir('reconnect');
		let cp: TestControlPlane = await startControlPlane();
		const port = cp.port;
		const agent: Agent = await startTestAgent(cp, { dataDir: dir });
		cleanups.push(async () => {
			await agent.stop();
			await cp.close();
			await cleanupDir(dir);
		});
		expect(cp.hellos[0]).toMatchObject({ protocol: 1, sandboxes: [], host: { drivers: ['bwrap'], region: 'local' } });
		expect(cp.hellos[0].templates).toContainEqual({ id: 'host-minimal', status: 'ready' });
		await waitFor(() => cp.heartbeats.length > 0, 10_000, 'heartbeat');

		const keep = sid('keep');
		const drop = sid('drop');
		for (const id of [keep, drop]) await cp.hub.call(HOST_ID, 'sandbox.create', { id, template: 'host-minimal', size: SIZE });
		await cp.hub.call(HOST_ID, 'sandbox.pause', { id: drop });
		await cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: keep, command: 'echo state > /workspace/s' });

		// control plane goes away; a call in flight fails with HostUnavailable
		const inflight = cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: keep, command: 'sleep 5' });
		await cp.close();
		await expect(inflight).rejects.toMatchObject({ name: 'HostUnavailableError' });
		await waitFor(() => !agent.connection.connected, 5000, 'agent to notice');

		cp = await startControlPlane(port);
		cp.destroyOnHello = [drop];
		await waitFor(() => cp.hub.isConnected(HOST_ID), 15_000, 'reconnect');
		const hello = cp.hellos[0];
		expect(hello.sandboxes.map((s) => s.id).sort()).toEqual([drop, keep].sort());
		expect(hello.sandboxes.find((s) => s.id === drop)?.state).toBe('paused');
		expect(hello.sandboxes.find((s) => s.id === keep)).toMatchObject({ state: 'running', template: 'host-minimal' });
		// kept sandbox survived with its state; the dropped one is gone
		expect((await cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: keep, command: 'cat /workspace/s' })).stdout).toBe('state\n');
		await waitFor(async () => (await cp.hub.call(HOST_ID, 'sandbox.list', {})).sandboxes.length === 1, 5000, 'drop destroyed');
		await cp.hub.call(HOST_ID, 'sandbox.destroy', { id: keep });
	}, 60_000);
});

describe('bundled agent process', () => {
	test('SIGKILL: sandboxes die with the agent; restart cleans up and reports none', async () => {
		execFileSync(process.execPath, [path.join(root, 'agent/build.mjs')], { stdio: 'pipe' });
		const bundle = path.join(root, 'build/agent/agent.mjs');
		expect(existsSync(bundle)).toBe(true);
		const dir = tempDir('killed');
		const cp = await startControlPlane();
		const procs: ChildProcess[] = [];
		cleanups.push(async () => {
			for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
			await cp.close();
			await cleanupDir(dir);
		});
		const run = () => {
			const p = spawn(process.execPath, [bundle], {
				env: {
					PATH: process.env.PATH,
					HANGAR_URL: cp.url,
					HANGAR_HOST_KEY: HOST_KEY,
					HANGAR_AGENT_DATA: dir,
					HANGAR_POOL_SIZE: '1',
					HANGAR_LOG: 'error',
					...(process.env.HANGAR_TEST_TEMPLATE_DIR ? { HANGAR_TEMPLATE_DIR: process.env.HANGAR_TEST_TEMPLATE_DIR } : {})
				},
				stdio: ['ignore', 'inherit', 'inherit']
			});
			procs.push(p);
			return p;
		};

		const first = run();
		await waitFor(() => cp.hub.isConnected(HOST_ID), 20_000, 'bundled agent to connect');
		const id = sid('crash');
		await cp.hub.call(HOST_ID, 'sandbox.create', { id, template: 'host-minimal', size: SIZE, network: true });
		await cp.hub.call(HOST_ID, 'process.start', { sandbox_id: id, command: 'sleep 1000' });
		await cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: id, command: 'echo x > /workspace/crash-marker' });
		await waitFor(() => cgroupKeys(dir).length >= 2, 10_000, 'pool sandbox');
		const keys = cgroupKeys(dir);
		// every process of every sandbox (bwrap, init, helpers, slirp4netns, sleep)
		const pids = keys.flatMap((k) =>
			readFileSync(
				detectCgroupMode() === 'v2'
					? path.join('/sys/fs/cgroup/hangar', agentTag(dir), k, 'cgroup.procs')
					: path.join('/sys/fs/cgroup/pids/hangar', agentTag(dir), k, 'cgroup.procs'),
				'utf8'
			)
				.split('\n')
				.filter(Boolean)
				.map(Number)
		);
		expect(pids.length).toBeGreaterThanOrEqual(6);

		first.kill('SIGKILL');
		await new Promise((r) => first.once('exit', r));
		await waitFor(() => pids.every((p) => !alive(p)), 10_000, 'sandbox processes to die with the agent');
		await waitFor(() => !cp.hub.isConnected(HOST_ID), 10_000, 'hub to notice');

		const hellosBefore = cp.hellos.length;
		const second = run();
		await waitFor(() => cp.hub.isConnected(HOST_ID) && cp.hellos.length > hellosBefore, 20_000, 'restart');
		expect(cp.hellos.at(-1)!.sandboxes).toEqual([]);
		// the old cgroups and sandbox dirs are gone: what's left is exactly the new warm pool
		// (one sandbox per ready template: host-minimal, plus desktop-host where the host has X)
		await waitFor(
			() => {
				const cgs = cgroupKeys(dir);
				const dirs = readdirSync(path.join(dir, 'sandboxes'));
				return cgs.length >= 1 && cgs.length === dirs.length && cgs.every((k) => dirs.includes(k));
			},
			30_000,
			'only the new pool sandboxes'
		);
		for (const key of cgroupKeys(dir)) {
			expect(existsSync(path.join(dir, 'sandboxes', key, 'upper/workspace/crash-marker'))).toBe(false);
		}
		await expect(cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: id, command: 'true' })).rejects.toMatchObject({
			code: 'SANDBOX_NOT_FOUND'
		});

		// graceful stop leaves nothing at all
		second.kill('SIGTERM');
		await new Promise((r) => second.once('exit', r));
		expect(cgroupKeys(dir)).toEqual([]);
		expect(readdirSync(path.join(dir, 'sandboxes'))).toEqual([]);
		expect(mountsUnder(dir)).toEqual([]);
	}, 90_000);
});
