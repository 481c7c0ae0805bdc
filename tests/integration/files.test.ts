import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startServer } from '../support/server';
import { baseUrl, call, createSandbox, exec, expectError, keyWith, newOrg, waitFor, type Org } from './helpers';

let org: Org;
let sb: { id: string };
const b64 = (b: string | Buffer) => Buffer.from(b).toString('base64');
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Raw request: bytes back. */
async function raw(method: string, path: string, opts: { token?: string; body?: BodyInit; headers?: Record<string, string> } = {}) {
	const res = await fetch(`${baseUrl()}/api/v1${path}`, {
		method,
		headers: { authorization: `Bearer ${opts.token ?? org.key}`, ...(opts.headers ?? {}) },
		body: opts.body,
		...(opts.body instanceof ReadableStream ? { duplex: 'half' } : {})
	} as RequestInit);
	const bytes = Buffer.from(await res.arrayBuffer());
	return { status: res.status, headers: res.headers, bytes, json: () => JSON.parse(bytes.toString('utf8')) };
}

const files = (suffix = '') => `/sandboxes/${sb.id}/files${suffix}`;
const q = (p: string) => encodeURIComponent(p);
/** The SDK's `/files/{path without leading /}`, each segment encoded. */
const sdkPath = (p: string) => files('/' + p.slice(1).split('/').map(encodeURIComponent).join('/'));

beforeAll(async () => {
	org = await newOrg();
	sb = await createSandbox(org);
});

afterAll(async () => {
	if (sb) await call('DELETE', `/sandboxes/${sb.id}`, { token: org.key });
});

describe('files API', () => {
	it('writes and reads binary content through the SDK and doc forms', async () => {
		// SDK: POST /files {path, content: base64}, GET /files/{path}
		const w = await call('POST', files(), { token: org.key, body: { path: '/workspace/bin/all.bin', content: b64(ALL_BYTES) } });
		expect(w.status, w.text).toBe(200);
		expect(w.body.data).toEqual({ path: '/workspace/bin/all.bin', size_bytes: 256 });
		const r = await raw('GET', sdkPath('/workspace/bin/all.bin'));
		expect(r.status).toBe(200);
		expect(r.headers.get('content-type')).toBe('application/octet-stream');
		expect(r.headers.get('content-length')).toBe('256');
		expect(r.bytes.equals(ALL_BYTES)).toBe(true);
		const head = await raw('HEAD', sdkPath('/workspace/bin/all.bin'));
		expect([head.status, head.headers.get('content-length'), head.bytes.length]).toEqual([200, '256', 0]);
		// doc: POST /files/write {path, content, encoding}, GET /files/read?path=
		expect((await call('POST', files('/write'), { token: org.key, body: { path: 'notes/ünï.txt', content: 'héllo\nwörld' } })).body.data).toEqual({
			path: '/workspace/notes/ünï.txt',
			size_bytes: Buffer.byteLength('héllo\nwörld')
		});
		expect((await raw('GET', files(`/read?path=${q('/workspace/notes/ünï.txt')}`))).bytes.toString()).toBe('héllo\nwörld');
		const asText = await call('GET', files(`/read?path=${q('notes/ünï.txt')}&encoding=utf8`), { token: org.key });
		expect(asText.body).toMatchObject({ content: 'héllo\nwörld', data: { content: 'héllo\nwörld', encoding: 'utf8' } });
		await call('POST', files('/write'), { token: org.key, body: { path: '/tmp/b.bin', content: b64(ALL_BYTES), encoding: 'base64' } });
		expect((await raw('GET', files(`/read?path=/tmp/b.bin`))).bytes.equals(ALL_BYTES)).toBe(true);
		const asB64 = await call('GET', files(`/read?path=/tmp/b.bin&encoding=base64`), { token: org.key });
		expect(Buffer.from(asB64.body.content, 'base64').equals(ALL_BYTES)).toBe(true);
		// the bytes are what a process in the sandbox sees
		expect((await exec(org, sb.id, 'sha256sum < /workspace/bin/all.bin')).stdout.split(' ')[0]).toBe(createHash('sha256').update(ALL_BYTES).digest('hex'));
		// an empty file
		await call('POST', files(), { token: org.key, body: { path: '/workspace/empty', content: '' } });
		const empty = await raw('GET', sdkPath('/workspace/empty'));
		expect([empty.status, empty.bytes.length]).toEqual([200, 0]);
		expectError(await call('POST', files('/write'), { token: org.key, body: { path: '/workspace/x' } }), 400, 'MISSING_PARAM');
		expectError(await call('POST', files(), { token: org.key, body: { path: '/workspace/x', content: 'not base64!' } }), 422, 'VALIDATION_ERROR');
		expectError(await call('GET', sdkPath('/workspace/bin/missing'), { token: org.key }), 404, 'NOT_FOUND');
		expectError(await call('GET', sdkPath('/workspace/bin'), { token: org.key }), 422, 'VALIDATION_ERROR');
	});

	it('lists, stats and walks trees', async () => {
		await call('POST', files('/write-many'), {
			token: org.key,
			body: { files: ['a.txt', 'sub/b.txt', 'sub/deeper/c.txt', 'odd name\nwith newline'].map((n) => ({ path: `/workspace/t/${n}`, content_base64: b64(n) })) }
		});
		for (const url of [files(`?path=${q('/workspace/t')}`), files(`/list?path=${q('/workspace/t')}`)]) {
			const l = await call('GET', url, { token: org.key });
			expect(l.status, l.text).toBe(200);
			expect(l.body.path).toBe('/workspace/t');
			expect(l.body.data.entries).toEqual(l.body.entries);
			expect(l.body.entries.map((e: any) => [e.name, e.is_dir])).toEqual([
				['sub', true],
				['a.txt', false],
				['odd name\nwith newline', false]
			]);
			expect(l.body.entries[1]).toMatchObject({ path: '/workspace/t/a.txt', size: 5, is_symlink: false, mode: 0o100644, permissions: '0644', type: 'file' });
			expect(Date.parse(l.body.entries[1].modified_at)).toBeGreaterThan(Date.now() - 120_000);
		}
		const def = await call('GET', files(), { token: org.key });
		expect(def.body.path).toBe('/workspace');
		const s1 = await call('POST', files('/stat'), { token: org.key, body: { path: '/workspace/t/sub' } });
		expect(s1.body.data).toMatchObject({ path: '/workspace/t/sub', name: 'sub', is_dir: true, type: 'dir' });
		const s2 = await call('GET', files(`/stat?path=${q('t/a.txt')}`), { token: org.key });
		expect(s2.body.data).toMatchObject({ path: '/workspace/t/a.txt', size: 5, is_dir: false, mode: 0o100644 });
		const tree = await call('GET', files(`/tree?path=${q('/workspace/t')}&depth=2`), { token: org.key });
		expect(tree.status, tree.text).toBe(200);
		const t = tree.body.data;
		expect(t).toMatchObject({ path: '/workspace/t', name: 't', type: 'dir' });
		const sub = t.children.find((c: any) => c.name === 'sub');
		expect(sub.children.map((c: any) => [c.name, c.type])).toEqual([
			['deeper', 'dir'],
			['b.txt', 'file']
		]);
		expect(sub.children[0].children).toBeUndefined();
		expect((await call('GET', files(`/tree?path=${q('/workspace/t')}`), { token: org.key })).body.data.children.find((c: any) => c.name === 'sub').children[0].children).toHaveLength(1);
		// a named route is the route; ?raw=1 reads a file of that name (here: /tree, which does not exist)
		expectError(await call('GET', files('/tree?raw=1'), { token: org.key }), 404, 'NOT_FOUND');
		expectError(await call('GET', files(`/list?path=${q('/workspace/nope')}`), { token: org.key }), 404, 'NOT_FOUND');
	});

	it('makes directories, moves, copies, chmods and deletes', async () => {
		const mk = await call('POST', files('/mkdir'), { token: org.key, body: { path: '/workspace/ops/a/b' } });
		expect(mk.status, mk.text).toBe(201);
		expect(mk.body.data).toEqual({ path: '/workspace/ops/a/b', created: true });
		expect((await call('POST', files('/mkdir'), { token: org.key, body: { path: '/workspace/ops/a/b' } })).status).toBe(200);
		expectError(await call('POST', files('/mkdir'), { token: org.key, body: { path: '/workspace/ops/a/b', parents: false } }), 409, 'CONFLICT');
		await call('POST', files('/write'), { token: org.key, body: { path: '/workspace/ops/f.txt', content: 'F' } });
		const mv = await call('POST', files('/move'), { token: org.key, body: { from: '/workspace/ops/f.txt', to: '/workspace/ops/a/g.txt' } });
		expect(mv.status, mv.text).toBe(200);
		expect(mv.body.data).toEqual({ from: '/workspace/ops/f.txt', to: '/workspace/ops/a/g.txt' });
		const rn = await call('POST', files('/rename'), { token: org.key, body: { source: '/workspace/ops/a/g.txt', destination: '/workspace/ops/h.txt' } });
		expect(rn.status, rn.text).toBe(200);
		await call('POST', files('/write'), { token: org.key, body: { path: '/workspace/ops/i.txt', content: 'I' } });
		expectError(await call('POST', files('/move'), { token: org.key, body: { from: '/workspace/ops/i.txt', to: '/workspace/ops/h.txt' } }), 409, 'CONFLICT');
		expect((await call('POST', files('/move'), { token: org.key, body: { from: '/workspace/ops/i.txt', to: '/workspace/ops/h.txt', overwrite: true } })).status).toBe(200);
		expect((await raw('GET', sdkPath('/workspace/ops/h.txt'))).bytes.toString()).toBe('I');
		expectError(await call('POST', files('/move'), { token: org.key, body: { from: '/workspace/ops/h.txt' } }), 400, 'MISSING_PARAM');
		expectError(await call('POST', files('/move'), { token: org.key, body: { from: '/workspace/ops/zzz', to: '/workspace/ops/y' } }), 404, 'NOT_FOUND');

		expectError(await call('POST', files('/copy'), { token: org.key, body: { from: '/workspace/ops/a', to: '/workspace/ops/a2' } }), 422, 'VALIDATION_ERROR');
		expect((await call('POST', files('/copy'), { token: org.key, body: { from: '/workspace/ops/a', to: '/workspace/ops/a2', recursive: true } })).status).toBe(200);
		expect((await call('POST', files('/copy'), { token: org.key, body: { source: '/workspace/ops/h.txt', destination: '/tmp/h-copy.txt' } })).status).toBe(200);
		expect((await raw('GET', sdkPath('/tmp/h-copy.txt'))).bytes.toString()).toBe('I');
		// copying from a readable place outside the roots is fine, into one is not
		expect((await call('POST', files('/copy'), { token: org.key, body: { from: '/etc/hostname', to: '/workspace/ops/hostname' } })).status).toBe(200);
		expectError(await call('POST', files('/copy'), { token: org.key, body: { from: '/workspace/ops/h.txt', to: '/etc/h.txt' } }), 403, 'FORBIDDEN_PATH');

		const ch = await call('POST', files('/chmod'), { token: org.key, body: { path: '/workspace/ops/h.txt', mode: '0750' } });
		expect(ch.status, ch.text).toBe(200);
		expect(ch.body.data).toMatchObject({ permissions: '0750', mode: 0o100750 });
		expect((await call('POST', files('/chmod'), { token: org.key, body: { path: '/workspace/ops/h.txt', mode: 0o600 } })).body.data.permissions).toBe('0600');
		expect((await exec(org, sb.id, 'stat -c %a /workspace/ops/h.txt')).stdout).toBe('600\n');
		expectError(await call('POST', files('/chmod'), { token: org.key, body: { path: '/workspace/ops/h.txt', mode: '999' } }), 422, 'VALIDATION_ERROR');

		expectError(await call('DELETE', files(`?path=${q('/workspace/ops/a2')}`), { token: org.key }), 409, 'CONFLICT');
		expect((await call('DELETE', files(`?path=${q('/workspace/ops/a2')}&recursive=true`), { token: org.key })).body.data).toEqual({ path: '/workspace/ops/a2', deleted: true });
		expect((await call('DELETE', files(), { token: org.key, body: { path: '/workspace/ops/hostname' } })).status).toBe(200);
		expect((await call('DELETE', sdkPath('/tmp/h-copy.txt'), { token: org.key })).status).toBe(200);
		expect((await call('POST', files('/delete'), { token: org.key, body: { path: '/workspace/ops/a', recursive: true } })).status).toBe(200);
		expectError(await call('DELETE', files(`?path=${q('/workspace/ops/a')}`), { token: org.key }), 404, 'NOT_FOUND');
		expect((await call('GET', files(`?path=${q('/workspace/ops')}`), { token: org.key })).body.entries.map((e: any) => e.name)).toEqual(['h.txt']);
		expectError(await call('DELETE', files(`?path=/workspace&recursive=true`), { token: org.key }), 403, 'FORBIDDEN_PATH');

		// events
		const ev = await call('GET', `/events?types=${q('sandbox.file.*')}&limit=500&resource_id=${sb.id}`, { token: org.key });
		expect(ev.status, ev.text).toBe(200);
		const types = new Set(ev.body.data.map((e: any) => e.type));
		for (const t of ['sandbox.file.written', 'sandbox.file.moved', 'sandbox.file.deleted', 'sandbox.file.dir_created', 'sandbox.file.copied', 'sandbox.file.mode_changed']) expect(types.has(t), t).toBe(true);
		const moved = ev.body.data.find((e: any) => e.type === 'sandbox.file.moved');
		expect(moved.data ?? moved).toMatchObject({ sandbox_id: sb.id, from: '/workspace/ops/f.txt', to: '/workspace/ops/a/g.txt' });
	});

	it('write-many is all or nothing', async () => {
		const ok = await call('POST', files('/write-many'), {
			token: org.key,
			body: {
				files: [
					{ path: '/workspace/wm/a.txt', content_base64: b64('a') },
					{ path: 'wm/deep/b.bin', content_base64: b64(ALL_BYTES) }
				]
			}
		});
		expect(ok.status, ok.text).toBe(200);
		expect(ok.body).toMatchObject({
			written: [
				{ path: '/workspace/wm/a.txt', size_bytes: 1 },
				{ path: '/workspace/wm/deep/b.bin', size_bytes: 256 }
			],
			failed: []
		});
		expect((await raw('GET', sdkPath('/workspace/wm/deep/b.bin'))).bytes.equals(ALL_BYTES)).toBe(true);
		// one path outside the roots: nothing is written
		const bad = await call('POST', files('/write-many'), {
			token: org.key,
			body: {
				files: [
					{ path: '/workspace/wm/a.txt', content_base64: b64('changed') },
					{ path: '/workspace/wm/new.txt', content_base64: b64('new') },
					{ path: '/usr/local/evil', content_base64: b64('x') }
				]
			}
		});
		expectError(bad, 403, 'FORBIDDEN_PATH');
		expect(bad.body.written).toEqual([]);
		expect(bad.body.failed.map((f: any) => f.path)).toEqual(['/usr/local/evil']);
		// one path the sandbox refuses (under a file): nothing is written either
		const bad2 = await call('POST', files('/batch'), {
			token: org.key,
			body: {
				files: [
					{ path: '/workspace/wm/new.txt', content: b64('new') },
					{ path: '/workspace/wm/a.txt/inside', content: b64('x') }
				]
			}
		});
		expect(bad2.status, bad2.text).toBe(422);
		expect(bad2.body.failed).toMatchObject([{ path: '/workspace/wm/a.txt/inside' }]);
		expect((await raw('GET', sdkPath('/workspace/wm/a.txt'))).bytes.toString()).toBe('a');
		expectError(await call('GET', sdkPath('/workspace/wm/new.txt'), { token: org.key }), 404, 'NOT_FOUND');
		expect((await exec(org, sb.id, 'ls -A /workspace/wm')).stdout).toBe('a.txt\ndeep\n');
	});

	it('uploads multipart files and answers MISSING_FILE without one', async () => {
		const fd = new FormData();
		fd.append('path', '/workspace/up/');
		fd.append('file', new Blob([ALL_BYTES]), 'all bytes.bin');
		const r = await raw('POST', files('/upload'), { body: fd });
		expect(r.status, r.bytes.toString()).toBe(201);
		expect(r.json()).toMatchObject({ success: true, file: { path: '/workspace/up/all bytes.bin', filename: 'all bytes.bin', size_bytes: 256 } });
		expect((await raw('GET', sdkPath('/workspace/up/all bytes.bin'))).bytes.equals(ALL_BYTES)).toBe(true);
		// the file before the path field (curl -F file=@x -F path=…), and an exact file path
		const fd2 = new FormData();
		fd2.append('file', new Blob(['second']), 'ignored.txt');
		fd2.append('path', '/workspace/up/renamed.txt');
		const r2 = await raw('POST', files('/upload'), { body: fd2 });
		expect(r2.status, r2.bytes.toString()).toBe(201);
		expect(r2.json().file).toMatchObject({ path: '/workspace/up/renamed.txt', size_bytes: 6 });
		expect((await raw('GET', sdkPath('/workspace/up/renamed.txt'))).bytes.toString()).toBe('second');
		expect((await exec(org, sb.id, 'ls -A /tmp | grep -c hangar-upload || true')).stdout.trim()).toBe('0');
		// an existing directory as the path; no path at all → /workspace
		const fd3 = new FormData();
		fd3.append('path', '/workspace/up');
		fd3.append('file', new Blob(['3']), 'three.txt');
		expect((await raw('POST', files('/upload'), { body: fd3 })).json().file.path).toBe('/workspace/up/three.txt');
		const fd4 = new FormData();
		fd4.append('file', new Blob(['4']), '../../escape.txt');
		expect((await raw('POST', files('/upload'), { body: fd4 })).json().file.path).toBe('/workspace/escape.txt');
		const fd5 = new FormData();
		fd5.append('path', '/etc/');
		fd5.append('file', new Blob(['5']), 'x.txt');
		expect((await raw('POST', files('/upload'), { body: fd5 })).json().error.code).toBe('FORBIDDEN_PATH');
		const noFile = new FormData();
		noFile.append('path', '/workspace/up/');
		const m = await raw('POST', files('/upload'), { body: noFile });
		expect([m.status, m.json().error.code]).toEqual([400, 'MISSING_FILE']);
		const notMultipart = await raw('POST', files('/upload'), { body: '{}', headers: { 'content-type': 'application/json' } });
		expect([notMultipart.status, notMultipart.json().error.code]).toEqual([400, 'MISSING_FILE']);
	});

	it('streams a 100 MB file in with PUT and out with GET without buffering it', async () => {
		const pid = inject('serverPid');
		const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
		const SIZE = 100 * 1024 * 1024;
		const CHUNK = 256 * 1024;
		// pseudo-random bytes (a random block, each chunk stamped with its number), hashed as they are produced
		const inHash = createHash('sha256');
		let produced = 0;
		const block = randomBytes(CHUNK);
		const body = new ReadableStream<Uint8Array>({
			pull(c) {
				if (produced >= SIZE) return c.close();
				const chunk = Buffer.from(block.subarray(0, Math.min(CHUNK, SIZE - produced)));
				chunk.writeUInt32BE(produced / CHUNK, 0);
				produced += chunk.length;
				inHash.update(chunk);
				c.enqueue(chunk);
			}
		});
		const base = rss();
		let peak = base;
		const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
		try {
			const t0 = Date.now();
			const put = await raw('PUT', sdkPath('/workspace/big/hundred.bin'), { body, headers: { 'content-type': 'application/octet-stream' } });
			const putMs = Date.now() - t0;
			expect(put.status, put.bytes.toString()).toBe(200);
			expect(put.json().data).toEqual({ path: '/workspace/big/hundred.bin', size_bytes: SIZE });
			const t1 = Date.now();
			const res = await fetch(`${baseUrl()}/api/v1${sdkPath('/workspace/big/hundred.bin')}`, { headers: { authorization: `Bearer ${org.key}` } });
			expect(res.status).toBe(200);
			expect(res.headers.get('content-length')).toBe(String(SIZE));
			const outHash = createHash('sha256');
			let got = 0;
			for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
				outHash.update(c);
				got += c.byteLength;
			}
			const getMs = Date.now() - t1;
			expect(got).toBe(SIZE);
			expect(outHash.digest('hex')).toBe(inHash.digest('hex'));
			const growth = peak - base;
			console.log(`[files] 100 MB PUT ${putMs} ms, GET ${getMs} ms; server RSS ${Math.round(base / 1048576)} MB → peak ${Math.round(peak / 1048576)} MB (+${Math.round(growth / 1048576)} MB)`);
			expect(growth).toBeLessThan(60 * 1024 * 1024);
		} finally {
			clearInterval(sampler);
		}
		// a download of a directory is a tar
		const tar = await raw('GET', files(`/download?path=${q('/workspace/wm')}`));
		expect(tar.headers.get('content-type')).toBe('application/x-tar');
		expect(tar.headers.get('content-disposition')).toContain('wm.tar');
		expect(execFileSync('tar', ['-tf', '-'], { input: tar.bytes }).toString().split('\n').filter(Boolean).sort()).toEqual(['wm/', 'wm/a.txt', 'wm/deep/', 'wm/deep/b.bin']);
		const one = await raw('GET', files(`/download?path=${q('/workspace/wm/a.txt')}`));
		expect([one.bytes.toString(), one.headers.get('content-disposition')]).toEqual(['a', `attachment; filename="a.txt"; filename*=UTF-8''a.txt`]);
		await exec(org, sb.id, 'rm -rf /workspace/big');
	}, 180_000);

	it('refuses paths outside the policy, through symlinks too', async () => {
		const read = (p: string) => call('GET', files(`/read?path=${q(p)}`), { token: org.key });
		const status = async (p: Promise<{ status: number; body: any }>) => {
			const r = await p;
			return `${r.status} ${r.body?.error?.code ?? ''}`.trim();
		};
		expect(['403 FORBIDDEN_PATH', '404 NOT_FOUND']).toContain(await status(read('../../etc/shadow')));
		expect(await status(read('/proc/self/environ'))).toBe('403 FORBIDDEN_PATH');
		expect(await status(read('/workspace/../proc/1/environ'))).toBe('403 FORBIDDEN_PATH');
		expect(await status(read('/sys/kernel/hostname'))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('GET', files(`?path=/dev`), { token: org.key }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('GET', files(`/read?path=a%00b`), { token: org.key }))).toBe('422 VALIDATION_ERROR');
		await exec(org, sb.id, 'mkdir -p /workspace/links && cd /workspace/links && ln -sf /etc/shadow shadow && ln -sf /proc/self/environ environ && ln -sf /proc proc && ln -sf /etc etc && ln -sf /usr usr');
		expect(['403 FORBIDDEN_PATH', '404 NOT_FOUND']).toContain(await status(read('/workspace/links/shadow')));
		expect(await status(read('/workspace/links/environ'))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('GET', sdkPath('/workspace/links/environ'), { token: org.key }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('GET', files(`?path=${q('/workspace/links/proc')}`), { token: org.key }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('GET', files(`/download?path=${q('/workspace/links/proc/self')}`), { token: org.key }))).toBe('403 FORBIDDEN_PATH');
		// writes outside the roots, directly or through a link
		expect(await status(call('POST', files(), { token: org.key, body: { path: '/usr/bin/evil', content: b64('x') } }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('POST', files('/write'), { token: org.key, body: { path: '../../usr/local/bin/evil', content: 'x' } }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('POST', files('/write'), { token: org.key, body: { path: '/workspace/links/etc/passwd', content: 'x' } }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('POST', files('/write'), { token: org.key, body: { path: '/workspace/links/usr/evil', content: 'x' } }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('POST', files('/mkdir'), { token: org.key, body: { path: '/workspace/links/etc/d' } }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(raw('PUT', sdkPath('/workspace/links/etc/x'), { body: 'x' }).then((r) => ({ status: r.status, body: r.json() })))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('POST', files('/move'), { token: org.key, body: { from: '/etc/passwd', to: '/workspace/p' } }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('POST', files('/chmod'), { token: org.key, body: { path: '/workspace/links/etc', mode: 511 } }))).toBe('403 FORBIDDEN_PATH');
		expect(await status(call('DELETE', files(`?path=/etc/passwd`), { token: org.key }))).toBe('403 FORBIDDEN_PATH');
		// the link itself lives in /workspace: deleting it is fine and leaves the target alone
		expect(await status(call('DELETE', files(`?path=${q('/workspace/links/etc')}`), { token: org.key }))).toBe('200');
		expect((await exec(org, sb.id, 'test -f /etc/passwd && echo ok')).stdout).toBe('ok\n');
	});

	it('watches a directory over SSE, in order', async () => {
		await call('POST', files('/mkdir'), { token: org.key, body: { path: '/workspace/watched' } });
		const ac = new AbortController();
		const res = await fetch(`${baseUrl()}/api/v1${files(`/watch?path=${q('/workspace/watched')}`)}`, { headers: { authorization: `Bearer ${org.key}` }, signal: ac.signal });
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toContain('text/event-stream');
		const events: any[] = [];
		let ready = false;
		const reading = (async () => {
			const dec = new TextDecoder();
			let buf = '';
			try {
				for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
					buf += dec.decode(c, { stream: true });
					let i;
					while ((i = buf.indexOf('\n\n')) >= 0) {
						const block = buf.slice(0, i);
						buf = buf.slice(i + 2);
						if (block.startsWith(': ready')) ready = true;
						const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
						if (data) events.push(JSON.parse(data));
					}
				}
			} catch {
				/* aborted */
			}
		})();
		await waitFor(async () => ready, 10_000);
		const settle = () => new Promise((r) => setTimeout(r, 500));
		await call('POST', files('/write'), { token: org.key, body: { path: '/workspace/watched/a.txt', content: '1' } });
		await settle();
		await call('POST', files('/write'), { token: org.key, body: { path: '/workspace/watched/a.txt', content: '22' } });
		await settle();
		await call('DELETE', files(`?path=${q('/workspace/watched/a.txt')}`), { token: org.key });
		await waitFor(async () => events.length >= 3, 10_000);
		ac.abort();
		await reading;
		expect(events).toEqual([
			{ type: 'created', path: '/workspace/watched/a.txt', is_dir: false, size_bytes: 1 },
			{ type: 'modified', path: '/workspace/watched/a.txt', is_dir: false, size_bytes: 2 },
			{ type: 'deleted', path: '/workspace/watched/a.txt', is_dir: false, size_bytes: 2 }
		]);
		expectError(await call('GET', files(`/watch?path=${q('/workspace/nope')}`), { token: org.key }), 404, 'NOT_FOUND');
		// browsers (EventSource) use a single-use ticket instead of the header
		const t = await call('POST', '/auth/sse-ticket', { token: org.key });
		const ticket = t.body.ticket ?? t.body.data?.ticket;
		const byTicket = await fetch(`${baseUrl()}/api/v1${files(`/watch?path=${q('/workspace/watched')}&ticket=${ticket}`)}`);
		expect(byTicket.status).toBe(200);
		await byTicket.body!.cancel();
		expect((await fetch(`${baseUrl()}/api/v1${files(`/watch?path=${q('/workspace/watched')}&ticket=${ticket}`)}`)).status).toBe(401);
	});

	it('exports files and archives', async () => {
		await call('POST', files('/write-many'), { token: org.key, body: { files: [{ path: '/workspace/ex/one.txt', content_base64: b64('one') }, { path: '/workspace/ex/dir/two.txt', content_base64: b64('two') }] } });
		const e = await call('POST', `/sandboxes/${sb.id}/exports`, { token: org.key, body: { paths: ['/workspace/ex/one.txt', '/workspace/ex/dir'], label: 'results' } });
		expect(e.status, e.text).toBe(201);
		expect(e.body.data).toMatchObject({ sandbox_id: sb.id, label: 'results', status: 'ready' });
		expect(e.body.data.id).toMatch(/^[0-9a-f-]{36}$/);
		expect(e.body.data.files.map((f: any) => [f.path, f.filename])).toEqual([
			['/workspace/ex/one.txt', 'one.txt'],
			['/workspace/ex/dir', 'dir.tar']
		]);
		const get = (url: string) => raw('GET', url.slice(url.indexOf('/api/v1') + 7));
		expect((await get(e.body.data.files[0].download_url)).bytes.toString()).toBe('one');
		const dirTar = await get(e.body.data.files[1].download_url);
		expect(execFileSync('tar', ['-tf', '-'], { input: dirTar.bytes }).toString().split('\n').filter(Boolean).sort()).toEqual(['dir/', 'dir/two.txt']);
		const archive = await get(e.body.data.archive_download_url);
		expect(archive.headers.get('content-type')).toBe('application/x-tar');
		expect(archive.headers.get('content-disposition')).toContain('export.tar');
		expect(execFileSync('tar', ['-tf', '-'], { input: archive.bytes }).toString().split('\n').filter(Boolean).sort()).toEqual([
			'workspace/ex/dir/',
			'workspace/ex/dir/two.txt',
			'workspace/ex/one.txt'
		]);
		const direct = await raw('GET', `/sandboxes/${sb.id}/exports/download?path=${q('/workspace/ex/one.txt')}&filename=renamed.txt`);
		expect(direct.bytes.toString()).toBe('one');
		expect(direct.headers.get('content-disposition')).toContain('renamed.txt');
		const several = await raw('GET', `/sandboxes/${sb.id}/exports/download?paths[]=${q('/workspace/ex/one.txt')}&paths[]=${q('/workspace/ex/dir/two.txt')}`);
		expect(execFileSync('tar', ['-tf', '-'], { input: several.bytes }).toString().split('\n').filter(Boolean).sort()).toEqual(['workspace/ex/dir/two.txt', 'workspace/ex/one.txt']);
		expectError(await call('POST', `/sandboxes/${sb.id}/exports`, { token: org.key, body: { path: '/workspace/ex/none' } }), 404, 'NOT_FOUND');
		expectError(await call('POST', `/sandboxes/${sb.id}/exports`, { token: org.key, body: {} }), 400, 'MISSING_PARAM');
	});

	it('enforces size limits', async () => {
		const big = Buffer.alloc(10 * 1024 * 1024 + 1, 7);
		expectError(await call('POST', files(), { token: org.key, body: { path: '/workspace/big.bin', content: b64(big) } }), 413, 'FILE_TOO_LARGE');
		expectError(await call('POST', files('/write'), { token: org.key, body: { path: '/workspace/big.txt', content: 'a'.repeat(big.length) } }), 413, 'FILE_TOO_LARGE');
		expectError(
			await call('POST', files('/write-many'), { token: org.key, body: { files: [{ path: '/workspace/b1', content_base64: b64(big.subarray(0, 6e6)) }, { path: '/workspace/b2', content_base64: b64(big.subarray(0, 6e6)) }] } }),
			413,
			'FILE_TOO_LARGE'
		);
		// a raw PUT declaring more than HANGAR_MAX_UPLOAD_BYTES is refused before any byte is read
		const u = new URL(baseUrl());
		const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
			const req = http.request(
				{ host: u.hostname, port: u.port, method: 'PUT', path: `/api/v1${sdkPath('/workspace/huge.bin')}`, headers: { authorization: `Bearer ${org.key}`, 'content-length': String(2 * 1024 ** 3) } },
				(res) => {
					let b = '';
					res.on('data', (c) => (b += c));
					res.on('end', () => resolve({ status: res.statusCode!, body: b }));
				}
			);
			req.on('error', reject);
			req.write(Buffer.alloc(1024));
		});
		expect(answer.status).toBe(413);
		expect(JSON.parse(answer.body).error.code).toBe('FILE_TOO_LARGE');
		expectError(await call('GET', sdkPath('/workspace/huge.bin'), { token: org.key }), 404, 'NOT_FOUND');
	});

	it('needs the right scopes, resumes paused sandboxes and hides other tenants', async () => {
		const reader = await keyWith(org, ['sandboxes:read']);
		expect((await call('GET', files(), { token: reader })).status).toBe(200);
		expect((await raw('GET', sdkPath('/workspace/wm/a.txt'), { token: reader })).status).toBe(200);
		expectError(await call('POST', files('/write'), { token: reader, body: { path: '/workspace/x', content: 'x' } }), 403, 'insufficient_scope');
		expectError(await call('DELETE', files(`?path=${q('/workspace/wm/a.txt')}`), { token: reader }), 403, 'insufficient_scope');

		const other = await newOrg();
		expectError(await call('GET', files(), { token: other.key }), 404, 'NOT_FOUND');
		expectError(await call('GET', sdkPath('/workspace/wm/a.txt'), { token: other.key }), 404, 'NOT_FOUND');
		expectError(await call('POST', files('/write'), { token: other.key, body: { path: '/workspace/x', content: 'x' } }), 404, 'NOT_FOUND');

		expect((await call('POST', `/sandboxes/${sb.id}/pause`, { token: org.key })).status).toBe(200);
		const r = await raw('GET', sdkPath('/workspace/wm/a.txt'));
		expect([r.status, r.bytes.toString()]).toEqual([200, 'a']);
		expect((await call('GET', `/sandboxes/${sb.id}`, { token: org.key })).body.data.state).toBe('running');
	});
});

/** Streams `total` bytes in chunks with node:http and stops sending once the server answers. */
function streamUpload(url: string, headers: Record<string, string>, total: number, chunk = 64 * 1024): Promise<{ status: number; body: string; sent: number }> {
	const u = new URL(url);
	return new Promise((resolve, reject) => {
		let answered = false;
		let sent = 0;
		const req = http.request({ host: u.hostname, port: u.port, method: headers['x-method'] ?? 'PUT', path: u.pathname + u.search, headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
			answered = true;
			let b = '';
			res.on('data', (c) => (b += c));
			res.on('end', () => resolve({ status: res.statusCode!, body: b, sent }));
		});
		req.on('error', (e: NodeJS.ErrnoException) => {
			if (answered) return;
			// The server may close before this client has read its 413 (it stopped reading the
			// body): a reset while sending is the same refusal. Give the answer a moment first.
			if (e.code === 'EPIPE' || e.code === 'ECONNRESET') setTimeout(() => !answered && resolve({ status: 0, body: '', sent }), 500);
			else reject(e);
		});
		const pump = () => {
			while (!answered && sent < total) {
				const n = Math.min(chunk, total - sent);
				sent += n;
				if (!req.write(Buffer.alloc(n, 1))) return void req.once('drain', pump);
			}
			if (!answered) req.end();
		};
		pump();
	});
}

describe('upload limit (HANGAR_MAX_UPLOAD_BYTES)', () => {
	it('stops reading a raw PUT or a multipart upload past the limit and answers 413', async () => {
		const LIMIT = 1024 * 1024;
		const server = await startServer({ db: inject('dbKind') as 'pglite' | 'postgres', waitForHost: true, env: { HANGAR_MAX_UPLOAD_BYTES: String(LIMIT), HANGAR_POOL_SIZE: '0' } });
		try {
			const api = async (method: string, path: string, token?: string, body?: unknown) => {
				const r = await fetch(`${server.baseUrl}/api/v1${path}`, {
					method,
					headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
					body: body ? JSON.stringify(body) : undefined
				});
				return { status: r.status, body: (await r.json()) as any };
			};
			const su = await api('POST', '/auth/signup', undefined, { email: `limit${Date.now()}@example.test`, password: 'correct horse battery', name: 'L', organization_name: 'L' });
			expect(su.status).toBe(201);
			const key = (await api('POST', '/api-keys', su.body.data.token, { name: 'k' })).body.data.key;
			const s = await api('POST', '/sandboxes', key, { template_id: 'host-minimal' });
			expect(s.status, JSON.stringify(s.body)).toBe(201);
			const id = s.body.data.id;
			const auth = { authorization: `Bearer ${key}` };
			// within the limit: fine
			// (no Content-Type, as `curl -T` sends it)
			const small = await streamUpload(`${server.baseUrl}/api/v1/sandboxes/${id}/files/workspace/ok.bin`, auth, LIMIT);
			expect(small.status, small.body).toBe(200);
			expect(JSON.parse(small.body).data.size_bytes).toBe(LIMIT);
			// over it, without a Content-Length: the server stops reading and answers 413
			const big = await streamUpload(`${server.baseUrl}/api/v1/sandboxes/${id}/files/workspace/big.bin`, auth, 64 * LIMIT);
			// 413 FILE_TOO_LARGE, or (status 0) a reset before the answer could be read
			expect([413, 0], big.body).toContain(big.status);
			if (big.status === 413) expect(JSON.parse(big.body).error.code).toBe('FILE_TOO_LARGE');
			expect(big.sent).toBeLessThan(32 * LIMIT);
			// multipart too
			const boundary = 'hangarLimitBoundary';
			const head = `--${boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\n/workspace/\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
			const mp = await new Promise<{ status: number; body: string }>((resolve, reject) => {
				const u = new URL(`${server.baseUrl}/api/v1/sandboxes/${id}/files/upload`);
				let answered = false;
				const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: u.pathname, headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' } }, (res) => {
					answered = true;
					let b = '';
					res.on('data', (c) => (b += c));
					res.on('end', () => resolve({ status: res.statusCode!, body: b }));
				});
				req.on('error', (e: NodeJS.ErrnoException) => {
					if (answered) return;
					if (e.code === 'EPIPE' || e.code === 'ECONNRESET') setTimeout(() => !answered && resolve({ status: 0, body: '' }), 500);
					else reject(e);
				});
				req.write(head);
				let sent = 0;
				const pump = () => {
					while (!answered && sent < 64 * LIMIT) {
						sent += 65536;
						if (!req.write(Buffer.alloc(65536, 2))) return void req.once('drain', pump);
					}
					if (!answered) req.end(`\r\n--${boundary}--\r\n`);
				};
				pump();
			});
			expect([413, 0], mp.body).toContain(mp.status);
			if (mp.status === 413) expect(JSON.parse(mp.body).error.code).toBe('FILE_TOO_LARGE');
			// nothing half-written is left behind
			await waitFor(async () => {
				const r = await fetch(`${server.baseUrl}/api/v1/sandboxes/${id}/exec`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ command: 'ls -A /workspace /tmp' }) });
				const out = ((await r.json()) as any).stdout as string;
				return !out.includes('.hangar-') && !out.includes('big.bin') && !out.includes('m.bin') && out.includes('ok.bin');
			}, 10_000);
		} finally {
			await server.stop();
		}
	}, 180_000);
});
