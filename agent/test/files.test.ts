/**
 * Files: files.* methods and the file-read / file-write / file-tar / file-watch channels against
 * a real sandbox, driven through the real hub.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Channel } from '../../src/lib/protocol/peer';
import type { FileWatchEvent, FileWriteResult } from '../../src/lib/protocol/index';
import type { Agent } from '../main';
import { HOST_ID, SIZE, cleanupDir, sid, startControlPlane, startTestAgent, tempDir, waitFor, type TestControlPlane } from './harness';

let cp: TestControlPlane;
let agent: Agent;
let dir: string;
let id: string;

beforeAll(async () => {
	dir = tempDir('files');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir, poolSize: 0 });
	id = sid('files');
	await cp.hub.call(HOST_ID, 'sandbox.create', { id, template: 'host-minimal', size: SIZE });
});

afterAll(async () => {
	if (id) await cp?.hub.call(HOST_ID, 'sandbox.destroy', { id }).catch(() => undefined);
	await agent?.stop();
	await cp?.close();
	if (dir) await cleanupDir(dir);
});

const call = <M extends Parameters<TestControlPlane['hub']['call']>[1]>(method: M, params: Parameters<typeof cp.hub.call<M>>[2]) =>
	cp.hub.call(HOST_ID, method, params);
const sh = async (command: string) => (await call('exec.run', { sandbox_id: id, command })).stdout;
const codeOf = async (p: Promise<unknown>) => {
	try {
		await p;
		return 'OK';
	} catch (e) {
		return (e as { code?: string }).code ?? String(e);
	}
};

function collect(ch: Channel): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const parts: Buffer[] = [];
		ch.on('data', (c: Buffer) => parts.push(c));
		ch.on('end', () => resolve(Buffer.concat(parts)));
		ch.on('error', reject);
		ch.on('close', () => resolve(Buffer.concat(parts)));
	});
}

async function writeFile(p: string, data: Buffer, extra: { mode?: number; max_bytes?: number } = {}): Promise<FileWriteResult> {
	const ch = await cp.hub.openChannel(HOST_ID, 'file-write', { sandbox_id: id, path: p, ...extra });
	const answer = collect(ch);
	for (let off = 0; off < data.length; off += 256 * 1024) {
		if (!ch.write(data.subarray(off, off + 256 * 1024))) await new Promise((r) => ch.once('drain', r));
	}
	ch.end();
	return JSON.parse((await answer).toString('utf8')) as FileWriteResult;
}

async function readFile(p: string): Promise<{ size: number; data: Buffer }> {
	const ch = await cp.hub.openChannel(HOST_ID, 'file-read', { sandbox_id: id, path: p });
	const all = await collect(ch);
	const nl = all.indexOf(10);
	return { size: JSON.parse(all.subarray(0, nl).toString()).size, data: all.subarray(nl + 1) };
}

const ODD = ['with space.txt', 'new\nline.txt', 'ünïcødé-日本.txt', '-leading-dash', "quote'\"s", '$(touch pwned)', 'back\\slash', 'star*?[x]', ' lead and trail '];

describe('files', () => {
	test('mkdir, list, stat, tree with odd names', async () => {
		expect(await call('files.mkdir', { sandbox_id: id, path: '/workspace/odd/sub' })).toEqual({ path: '/workspace/odd/sub', created: true });
		expect((await call('files.mkdir', { sandbox_id: id, path: '/workspace/odd/sub' })).created).toBe(false);
		expect(await codeOf(call('files.mkdir', { sandbox_id: id, path: '/workspace/odd/sub', parents: false }))).toBe('ALREADY_EXISTS');
		expect(await codeOf(call('files.mkdir', { sandbox_id: id, path: '/workspace/nope/x', parents: false }))).toBe('NOT_FOUND');
		for (const name of ODD) {
			const r = await writeFile(`/workspace/odd/${name}`, Buffer.from(`content of ${name}`));
			expect(r).toEqual({ ok: true, path: `/workspace/odd/${name}`, size_bytes: Buffer.byteLength(`content of ${name}`) });
		}
		const l = await call('files.list', { sandbox_id: id, path: '/workspace/odd' });
		expect(l.truncated).toBe(false);
		expect(l.entries[0]).toMatchObject({ name: 'sub', is_dir: true, type: 'dir', path: '/workspace/odd/sub' });
		expect(l.entries.map((e) => e.name).sort()).toEqual(['sub', ...ODD].sort());
		for (const e of l.entries.filter((x) => !x.is_dir)) {
			expect(e).toMatchObject({ size: Buffer.byteLength(`content of ${e.name}`), is_symlink: false, permissions: '0644', mode: 0o100644 });
			expect(Date.now() - Date.parse(e.modified_at)).toBeLessThan(60_000);
			expect((await readFile(e.path)).data.toString()).toBe(`content of ${e.name}`);
		}
		expect(await sh('ls /workspace')).not.toContain('pwned');
		const st = await call('files.stat', { sandbox_id: id, path: '/workspace/odd/new\nline.txt' });
		expect(st).toMatchObject({ name: 'new\nline.txt', is_dir: false, size: Buffer.byteLength('content of new\nline.txt') });
		const t = await call('files.tree', { sandbox_id: id, path: '/workspace', depth: 2 });
		const odd = t.tree.children!.find((c) => c.name === 'odd')!;
		expect(odd.children!.map((c) => c.name)).toContain('new\nline.txt');
		expect(odd.children!.find((c) => c.name === 'sub')!.children).toBeUndefined();
		expect((await call('files.tree', { sandbox_id: id, path: '/workspace', depth: 3 })).tree.children!.find((c) => c.name === 'odd')!.children!.find((c) => c.name === 'sub')!.children).toEqual([]);
		expect(await codeOf(call('files.list', { sandbox_id: id, path: '/workspace/missing' }))).toBe('NOT_FOUND');
		expect(await codeOf(call('files.list', { sandbox_id: id, path: '/workspace/odd/with space.txt' }))).toBe('NOT_A_DIRECTORY');
		expect(await codeOf(call('files.stat', { sandbox_id: id, path: 'relative/path' }))).toBe('INVALID_PARAMS');
		expect(await codeOf(call('files.stat', { sandbox_id: id, path: '/workspace/../etc' }))).toBe('INVALID_PARAMS');
	});

	test('move, copy, chmod, delete', async () => {
		await writeFile('/workspace/m/a b.txt', Buffer.from('A'));
		await writeFile('/workspace/m/other', Buffer.from('O'));
		expect(await codeOf(call('files.move', { sandbox_id: id, from: '/workspace/m/a b.txt', to: '/workspace/m/other' }))).toBe('ALREADY_EXISTS');
		await call('files.move', { sandbox_id: id, from: '/workspace/m/a b.txt', to: '/workspace/m/deep/er/b\nc.txt' });
		expect((await readFile('/workspace/m/deep/er/b\nc.txt')).data.toString()).toBe('A');
		await call('files.move', { sandbox_id: id, from: '/workspace/m/deep/er/b\nc.txt', to: '/workspace/m/other', overwrite: true });
		expect((await readFile('/workspace/m/other')).data.toString()).toBe('A');
		expect(await codeOf(call('files.move', { sandbox_id: id, from: '/workspace/m', to: '/workspace/m/inside' }))).toBe('INVALID_PARAMS');
		expect(await codeOf(call('files.move', { sandbox_id: id, from: '/workspace/missing', to: '/workspace/x' }))).toBe('NOT_FOUND');
		// cross-mount move (/tmp → /workspace) copies
		await writeFile('/tmp/t.bin', Buffer.from([0, 1, 2]));
		await call('files.move', { sandbox_id: id, from: '/tmp/t.bin', to: '/workspace/m/t.bin' });
		expect([...(await readFile('/workspace/m/t.bin')).data]).toEqual([0, 1, 2]);

		expect(await codeOf(call('files.copy', { sandbox_id: id, from: '/workspace/m', to: '/workspace/m2' }))).toBe('IS_A_DIRECTORY');
		await call('files.copy', { sandbox_id: id, from: '/workspace/m', to: '/workspace/m2', recursive: true });
		expect((await call('files.list', { sandbox_id: id, path: '/workspace/m2' })).entries.map((e) => e.name).sort()).toEqual(['deep', 'other', 't.bin']);
		await call('files.copy', { sandbox_id: id, from: '/workspace/m/other', to: '/workspace/m2/copy' });
		expect(await codeOf(call('files.copy', { sandbox_id: id, from: '/workspace/m/other', to: '/workspace/m2/copy' }))).toBe('ALREADY_EXISTS');
		await call('files.copy', { sandbox_id: id, from: '/workspace/m/t.bin', to: '/workspace/m2/copy', overwrite: true });
		expect([...(await readFile('/workspace/m2/copy')).data]).toEqual([0, 1, 2]);

		const c = await call('files.chmod', { sandbox_id: id, path: '/workspace/m2/copy', mode: 0o750 });
		expect(c).toMatchObject({ permissions: '0750', mode: 0o100750 });
		// the mode of an existing file survives a rewrite; an explicit mode wins
		await writeFile('/workspace/m2/copy', Buffer.from('new'));
		expect((await call('files.stat', { sandbox_id: id, path: '/workspace/m2/copy' })).permissions).toBe('0750');
		await writeFile('/workspace/m2/copy', Buffer.from('new'), { mode: 0o600 });
		expect((await call('files.stat', { sandbox_id: id, path: '/workspace/m2/copy' })).permissions).toBe('0600');

		expect(await codeOf(call('files.delete', { sandbox_id: id, path: '/workspace/m2' }))).toBe('NOT_EMPTY');
		expect(await call('files.delete', { sandbox_id: id, path: '/workspace/m2', recursive: true })).toEqual({ path: '/workspace/m2', deleted: true });
		expect(await codeOf(call('files.stat', { sandbox_id: id, path: '/workspace/m2' }))).toBe('NOT_FOUND');
		expect(await codeOf(call('files.delete', { sandbox_id: id, path: '/workspace/m2' }))).toBe('NOT_FOUND');
		expect(await codeOf(call('files.delete', { sandbox_id: id, path: '/workspace', recursive: true }))).toBe('FORBIDDEN_PATH');
		expect(await codeOf(call('files.delete', { sandbox_id: id, path: '/usr/bin/env' }))).toBe('FORBIDDEN_PATH');
	});

	test('binary round trip, large files, size limit, abort', async () => {
		const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
		expect((await writeFile('/workspace/bin/all.bin', all)).ok).toBe(true);
		const back = await readFile('/workspace/bin/all.bin');
		expect(back.size).toBe(256);
		expect(back.data.equals(all)).toBe(true);
		expect((await sh('od -An -tx1 /workspace/bin/all.bin | tr -d " \\n" | cut -c1-16')).trim()).toBe('0001020304050607');

		const big = randomBytes(24 * 1024 * 1024 + 17);
		const t0 = Date.now();
		expect(await writeFile('/workspace/bin/big', big)).toMatchObject({ ok: true, size_bytes: big.length });
		const got = await readFile('/workspace/bin/big');
		expect(createHash('sha256').update(got.data).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
		expect(Date.now() - t0).toBeLessThan(30_000);

		const tooBig = await cp.hub.openChannel(HOST_ID, 'file-write', { sandbox_id: id, path: '/workspace/bin/limited', max_bytes: 1000 });
		const err = new Promise<string>((resolve) => tooBig.on('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message)));
		tooBig.on('data', () => undefined);
		tooBig.write(Buffer.alloc(5000));
		expect(await err).toBe('FILE_TOO_LARGE');

		// abort mid-upload: the old content stays, no temp is left behind
		await writeFile('/workspace/bin/keep', Buffer.from('old'));
		const ab = await cp.hub.openChannel(HOST_ID, 'file-write', { sandbox_id: id, path: '/workspace/bin/keep' });
		ab.on('error', () => undefined);
		ab.write(Buffer.alloc(100_000, 1));
		await new Promise((r) => setTimeout(r, 100));
		ab.destroy(new Error('client went away'));
		await waitFor(async () => !(await sh('ls -A /workspace/bin')).includes('.hangar-tmp'), 5000, 'temp removed');
		expect((await readFile('/workspace/bin/keep')).data.toString()).toBe('old');
		expect((await sh('ls -A /workspace/bin')).split('\n').filter(Boolean).sort()).toEqual(['all.bin', 'big', 'keep']);

		expect(await codeOf(readFile('/workspace/bin'))).toBe('IS_A_DIRECTORY');
		expect(await codeOf(readFile('/workspace/bin/missing'))).toBe('NOT_FOUND');
		expect(await codeOf(writeFile('/workspace/bin', Buffer.from('x')))).toBe('IS_A_DIRECTORY');
		expect(await codeOf(writeFile('/usr/local/x', Buffer.from('x')))).toBe('FORBIDDEN_PATH');
	});

	test('symlinks are resolved inside the sandbox and the policy applies to the target', async () => {
		await sh('mkdir -p /workspace/ln && cd /workspace/ln && ln -s /proc/self/environ env && ln -s /etc etc && ln -s ../ln/real alias && echo hi > real && ln -s /nonexistent/x dangling');
		expect(await codeOf(readFile('/workspace/ln/env'))).toBe('FORBIDDEN_PATH');
		expect(await codeOf(call('files.list', { sandbox_id: id, path: '/workspace/ln/etc' }))).toBe('OK');
		expect(await codeOf(writeFile('/workspace/ln/etc/passwd', Buffer.from('x')))).toBe('FORBIDDEN_PATH');
		expect(await codeOf(call('files.mkdir', { sandbox_id: id, path: '/workspace/ln/etc/sub' }))).toBe('FORBIDDEN_PATH');
		expect(await codeOf(writeFile('/workspace/ln/dangling', Buffer.from('x')))).toBe('FORBIDDEN_PATH');
		expect(await codeOf(call('files.chmod', { sandbox_id: id, path: '/workspace/ln/etc', mode: 0o777 }))).toBe('FORBIDDEN_PATH');
		// writing through a link inside the roots replaces the target, the link stays
		expect(await writeFile('/workspace/ln/alias', Buffer.from('via link'))).toMatchObject({ ok: true });
		expect((await readFile('/workspace/ln/real')).data.toString()).toBe('via link');
		const st = await call('files.stat', { sandbox_id: id, path: '/workspace/ln/etc' });
		expect(st).toMatchObject({ is_symlink: true, is_dir: true, symlink_target: '/etc' });
		// links themselves can be moved and deleted (the target is untouched)
		await call('files.move', { sandbox_id: id, from: '/workspace/ln/etc', to: '/workspace/ln/etc2' });
		await call('files.delete', { sandbox_id: id, path: '/workspace/ln/etc2' });
		await call('files.delete', { sandbox_id: id, path: '/workspace/ln/env' });
		expect((await sh('ls /etc/passwd')).trim()).toBe('/etc/passwd');
		expect(await codeOf(call('files.list', { sandbox_id: id, path: '/proc' }))).toBe('FORBIDDEN_PATH');
		expect(await codeOf(call('files.stat', { sandbox_id: id, path: '/sys/kernel' }))).toBe('FORBIDDEN_PATH');
		// a custom policy from the control plane is honoured
		expect(
			await codeOf(call('files.stat', { sandbox_id: id, path: '/workspace/ln/real', policy: { read: { allow: ['/tmp'], deny: [] }, write: { allow: [], deny: [] } } }))
		).toBe('FORBIDDEN_PATH');
	});

	test('write_many is all or nothing', async () => {
		const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
		const ok = await call('files.write_many', {
			sandbox_id: id,
			files: [
				{ path: '/workspace/wm/a.txt', content_b64: b64('alpha') },
				{ path: '/workspace/wm/deep/b.bin', content_b64: b64(Buffer.from([0, 255, 10, 13])) },
				{ path: '/tmp/wm c.txt', content_b64: b64('') }
			]
		});
		expect(ok).toEqual({
			written: [
				{ path: '/workspace/wm/a.txt', size_bytes: 5 },
				{ path: '/workspace/wm/deep/b.bin', size_bytes: 4 },
				{ path: '/tmp/wm c.txt', size_bytes: 0 }
			],
			failed: []
		});
		expect([...(await readFile('/workspace/wm/deep/b.bin')).data]).toEqual([0, 255, 10, 13]);
		const bad = await call('files.write_many', {
			sandbox_id: id,
			files: [
				{ path: '/workspace/wm/a.txt', content_b64: b64('CHANGED') },
				{ path: '/workspace/wm/new.txt', content_b64: b64('new') },
				{ path: '/usr/bad.txt', content_b64: b64('x') },
				{ path: '/workspace/wm/a.txt/under-a-file', content_b64: b64('x') }
			]
		});
		expect(bad.written).toEqual([]);
		expect(bad.failed.map((f) => [f.path, f.code])).toEqual([
			['/usr/bad.txt', 'FORBIDDEN_PATH'],
			['/workspace/wm/a.txt/under-a-file', 'NOT_A_DIRECTORY']
		]);
		expect((await readFile('/workspace/wm/a.txt')).data.toString()).toBe('alpha');
		expect(await codeOf(call('files.stat', { sandbox_id: id, path: '/workspace/wm/new.txt' }))).toBe('NOT_FOUND');
		expect(await sh('ls -A /workspace/wm')).not.toContain('.hangar-tmp');
		expect(await codeOf(call('files.write_many', { sandbox_id: id, files: [{ path: '/workspace/x', content_b64: 'eA==' }, { path: '/workspace/x', content_b64: 'eA==' }] }))).toBe('INVALID_PARAMS');
	});

	test('tar of a directory and of several paths', async () => {
		await writeFile('/workspace/proj/src/main.txt', Buffer.from('main'));
		await writeFile('/workspace/proj/odd\nname', Buffer.from('odd'));
		const tarOf = async (paths: string[]) => collect(await cp.hub.openChannel(HOST_ID, 'file-tar', { sandbox_id: id, paths }));
		const out = mkdtempSync(path.join(os.tmpdir(), 'hangar-tar-'));
		try {
			execFileSync('tar', ['-xf', '-', '-C', out], { input: await tarOf(['/workspace/proj']) });
			expect(readFileSync(path.join(out, 'proj/src/main.txt'), 'utf8')).toBe('main');
			expect(readFileSync(path.join(out, 'proj/odd\nname'), 'utf8')).toBe('odd');
			execFileSync('tar', ['-xf', '-', '-C', out], { input: await tarOf(['/workspace/proj/src/main.txt', '/workspace/wm']) });
			expect(readFileSync(path.join(out, 'workspace/proj/src/main.txt'), 'utf8')).toBe('main');
			expect(readFileSync(path.join(out, 'workspace/wm/a.txt'), 'utf8')).toBe('alpha');
		} finally {
			rmSync(out, { recursive: true, force: true });
		}
		expect(await codeOf(tarOf(['/workspace/none']))).toBe('NOT_FOUND');
		expect(await codeOf(tarOf(['/']))).toBe('FORBIDDEN_PATH');
	});

	test('watch sends created, modified, deleted in order', async () => {
		await call('files.mkdir', { sandbox_id: id, path: '/workspace/w' });
		const ch = await cp.hub.openChannel(HOST_ID, 'file-watch', { sandbox_id: id, path: '/workspace/w', interval_ms: 100 });
		const events: FileWatchEvent[] = [];
		let buf = '';
		ch.setEncoding('utf8');
		ch.on('data', (s: string) => {
			buf += s;
			const lines = buf.split('\n');
			buf = lines.pop()!;
			for (const l of lines) events.push(JSON.parse(l));
		});
		await waitFor(() => events.some((e) => e.type === 'ready'), 5000, 'ready');
		const settle = () => new Promise((r) => setTimeout(r, 400));
		await writeFile('/workspace/w/a.txt', Buffer.from('1'));
		await settle();
		await writeFile('/workspace/w/a.txt', Buffer.from('22'));
		await settle();
		await call('files.mkdir', { sandbox_id: id, path: '/workspace/w/d' });
		await settle();
		await writeFile('/workspace/w/d/in.txt', Buffer.from('x'));
		await settle();
		await call('files.delete', { sandbox_id: id, path: '/workspace/w/a.txt' });
		await settle();
		await call('files.delete', { sandbox_id: id, path: '/workspace/w/d', recursive: true });
		await waitFor(() => events.filter((e) => e.type === 'deleted').length >= 3, 5000, 'deletes');
		ch.destroy();
		expect(events.map((e) => (e.type === 'ready' ? 'ready' : `${e.type} ${e.path.slice('/workspace/w/'.length)}`))).toEqual([
			'ready',
			'created a.txt',
			'modified a.txt',
			'created d',
			'created d/in.txt',
			'deleted a.txt',
			'deleted d/in.txt',
			'deleted d'
		]);
		expect(events[1]).toMatchObject({ size_bytes: 1, is_dir: false });
		expect(events[2]).toMatchObject({ size_bytes: 2 });
		// the watcher is gone once the channel closes
		const watchers = `for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c 'hangar-files watc[h]'`;
		await waitFor(async () => (await sh(watchers)).trim() === '0', 5000, 'watcher exit');
	});
});
