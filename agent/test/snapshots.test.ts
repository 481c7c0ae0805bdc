/**
 * Snapshots of the writable layer: capture while running, dedup, restore into new sandboxes,
 * deletion and garbage collection of shared objects.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Agent } from '../main';
import { HOST_ID, SIZE, cleanupDir, sid, startControlPlane, startTestAgent, tempDir, type TestControlPlane } from './harness';

let cp: TestControlPlane;
let agent: Agent;
let dir: string;

const call = <M extends Parameters<TestControlPlane['hub']['call']>[1]>(method: M, params: Parameters<typeof cp.hub.call<M>>[2]) =>
	cp.hub.call(HOST_ID, method, params, { timeoutMs: 120_000 });
const sh = async (sandbox_id: string, command: string) => {
	const r = await call('exec.run', { sandbox_id, command, shell: 'bash' });
	if (r.exit_code !== 0) throw new Error(`${command}: ${r.exit_code} ${r.stderr}`);
	return r.stdout;
};

function objectCount(): number {
	const root = path.join(agent.snapshots.root, 'objects');
	return readdirSync(root).reduce((n, d) => n + readdirSync(path.join(root, d)).length, 0);
}

beforeAll(async () => {
	dir = tempDir('snap');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir, poolSize: 1 });
});

afterAll(async () => {
	await agent?.stop();
	await cp?.close();
	if (dir) await cleanupDir(dir);
});

describe('snapshots', () => {
	let src: string;
	const snapA = `snap-a-${process.pid}`;

	beforeAll(async () => {
		src = sid('src');
		await call('sandbox.create', { id: src, template: 'host-minimal', size: SIZE });
		await sh(
			src,
			[
				'mkdir -p /workspace/app/sub /home/user/.cache',
				'echo v1 > /workspace/app/version.txt',
				'head -c 1048576 /dev/urandom > /workspace/app/blob.bin',
				'cp /workspace/app/blob.bin /workspace/app/sub/blob-copy.bin',
				'ln -s version.txt /workspace/app/link',
				'chmod 750 /workspace/app/sub',
				'mkfifo /workspace/app/fifo',
				'echo cached > /home/user/.cache/x',
				'echo tmpfile > /tmp/t'
			].join(' && ')
		);
	});

	test('capture while running: sizes, freeze time, the sandbox keeps running', async () => {
		// A writer keeps appending while the snapshot is taken: it must keep going afterwards.
		await call('process.start', { sandbox_id: src, command: 'while true; do date +%s%N >> /tmp/ticks; sleep 0.01; done', name: 'ticker' });
		await new Promise((r) => setTimeout(r, 100));
		const info = await call('snapshot.create', { id: snapA, sandbox_id: src });
		expect(info).toMatchObject({ id: snapA, sandbox_id: src, kind: 'filesystem', template: 'host-minimal' });
		expect(info.size_bytes).toBeGreaterThan(2 * 1024 * 1024);
		// blob.bin and its copy share mode, owner and content but not mtime: two objects unless equal.
		expect(info.files).toBeGreaterThanOrEqual(5);
		expect(info.freeze_ms).toBeLessThan(2000);
		const before = Number((await sh(src, 'wc -l < /tmp/ticks')).trim());
		await new Promise((r) => setTimeout(r, 200));
		const after = Number((await sh(src, 'wc -l < /tmp/ticks')).trim());
		expect(after).toBeGreaterThan(before);
		expect((await call('sandbox.get', { id: src })).state).toBe('running');
		expect(await call('snapshot.get', { id: snapA })).toEqual(info);
		// Idempotent by id.
		expect(await call('snapshot.create', { id: snapA, sandbox_id: src })).toEqual(info);
		if (process.env.HANGAR_MEASURE) console.log('snapshot', info);
	});

	test('restore: a new sandbox with the files, owners, modes, symlinks; independent of the source', async () => {
		await sh(src, 'echo v2 > /workspace/app/version.txt && rm /workspace/app/blob.bin');
		const r = sid('restored');
		const res = await call('sandbox.create', { id: r, template: 'host-minimal', size: SIZE, from_snapshot: snapA });
		expect(res.boot_path).toBe('cold');
		expect((await sh(r, 'cat /workspace/app/version.txt')).trim()).toBe('v1');
		expect((await sh(r, 'readlink /workspace/app/link')).trim()).toBe('version.txt');
		expect((await sh(r, 'stat -c "%a %U" /workspace/app/sub /workspace/app/version.txt')).trim().split('\n')).toEqual(['750 user', '644 user']);
		expect((await sh(r, 'test -p /workspace/app/fifo && echo fifo')).trim()).toBe('fifo');
		expect((await sh(r, 'cmp /workspace/app/blob.bin /workspace/app/sub/blob-copy.bin && echo same')).trim()).toBe('same');
		expect((await sh(r, 'cat /home/user/.cache/x /tmp/t')).trim()).toBe('cached\ntmpfile');
		// Writable as the sandbox user, and a write does not leak into the store or the source.
		await sh(r, 'echo changed > /workspace/app/sub/blob-copy.bin && touch /workspace/new');
		const r2 = sid('restored');
		await call('sandbox.create', { id: r2, template: 'host-minimal', size: SIZE, from_snapshot: snapA });
		expect((await sh(r2, 'cmp -s /workspace/app/blob.bin /workspace/app/sub/blob-copy.bin && echo same')).trim()).toBe('same');
		expect((await sh(r2, 'test -e /workspace/new || echo absent')).trim()).toBe('absent');
		expect((await sh(src, 'cat /workspace/app/version.txt')).trim()).toBe('v2');
		await call('sandbox.destroy', { id: r });
		await call('sandbox.destroy', { id: r2 });
	});

	test('dedup: an unchanged layer adds nothing; deletion keeps shared objects', async () => {
		await call('process.list', { sandbox_id: src }).then(async ({ processes }) => {
			for (const p of processes) if (p.state === 'running') await call('process.stop', { sandbox_id: src, pid: p.pid, grace_ms: 100 });
		});
		const b = await call('snapshot.create', { id: `snap-b-${process.pid}`, sandbox_id: src });
		const c = await call('snapshot.create', { id: `snap-c-${process.pid}`, sandbox_id: src });
		expect(c.content_hash).toBe(b.content_hash);
		expect(c.stored_bytes).toBe(0);
		const objects = objectCount();
		expect(await call('snapshot.delete', { id: c.id })).toEqual({ deleted: true });
		expect(objectCount()).toBe(objects); // b still uses them
		expect(await call('snapshot.delete', { id: b.id })).toEqual({ deleted: true });
		expect(objectCount()).toBeLessThan(objects);
		expect(await call('snapshot.delete', { id: b.id })).toEqual({ deleted: false });
		await expect(call('snapshot.get', { id: b.id })).rejects.toMatchObject({ code: 'SNAPSHOT_NOT_FOUND' });
	});

	test('snapshots outlive their sandbox and survive an agent restart', async () => {
		await call('sandbox.destroy', { id: src });
		const list = await call('snapshot.list', {});
		expect(list.snapshots.map((s) => s.id)).toContain(snapA);
		expect(list.stored_bytes).toBeGreaterThan(0);
		await agent.stop();
		agent = await startTestAgent(cp, { dataDir: dir, poolSize: 1 });
		const r = sid('after-restart');
		await call('sandbox.create', { id: r, template: 'host-minimal', size: SIZE, from_snapshot: snapA });
		expect((await sh(r, 'cat /workspace/app/version.txt')).trim()).toBe('v1');
		await call('sandbox.destroy', { id: r });
	});

	test('errors: unknown snapshot, template mismatch, unknown sandbox', async () => {
		await expect(call('sandbox.create', { id: sid(), template: 'host-minimal', size: SIZE, from_snapshot: 'nope' })).rejects.toMatchObject({ code: 'SNAPSHOT_NOT_FOUND' });
		await expect(call('snapshot.create', { id: 'x1', sandbox_id: 'nope' })).rejects.toMatchObject({ code: 'SANDBOX_NOT_FOUND' });
		await expect(call('snapshot.create', { id: '../x', sandbox_id: 'nope' })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
		expect(existsSync(path.join(agent.snapshots.root, '.staging-x1'))).toBe(false);
	});

	test('restore speed and delete', async () => {
		const t = performance.now();
		const r = sid('speed');
		const res = await call('sandbox.create', { id: r, template: 'host-minimal', size: SIZE, from_snapshot: snapA });
		const ms = performance.now() - t;
		expect(ms).toBeLessThan(1000);
		if (process.env.HANGAR_MEASURE) console.log(`restore of ${snapA}: create ${ms.toFixed(1)} ms (boot_ms ${res.boot_ms})`);
		await call('sandbox.destroy', { id: r });
		expect(await call('snapshot.delete', { id: snapA })).toEqual({ deleted: true });
		expect(objectCount()).toBe(0);
		expect(statSync(path.join(agent.snapshots.root, 'snaps')).isDirectory()).toBe(true);
	});
});
