// Previews: the proxy (host and path forms, HTTP and WebSocket), visibility and tokens, error
// pages, resume on hit, expose and the readiness event — against a real server and agent.
import crypto from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { baseUrl, call, createSandbox, exec, expectError, hreq, newOrg, readSse, waitFor, type Org } from './helpers';

// A dependency-free Node app: pages, an echo that reports what it received, a slow stream,
// redirects, cookies, and a WebSocket echo (raw frames on the `upgrade` event).
const NODE_APP = String.raw`
const http = require('http'); const crypto = require('crypto');
const srv = http.createServer((req, res) => {
  if (req.url.startsWith('/echo')) {
    const h = crypto.createHash('sha256'); let len = 0;
    req.on('data', (c) => { h.update(c); len += c.length; });
    req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, cookie: req.headers.cookie || null, token: req.headers['x-miosa-preview-token'] || null, forwarded_host: req.headers['x-forwarded-host'] || null, prefix: req.headers['x-forwarded-prefix'] || null, len, sha: h.digest('hex') })); });
    return;
  }
  if (req.url === '/stream') { res.writeHead(200, { 'content-type': 'text/plain' }); let i = 0; const t = setInterval(() => { res.write('tick ' + i + '\n'); if (++i === 5) { clearInterval(t); res.end(); } }, 40); return; }
  if (req.url === '/redirect') { res.writeHead(302, { location: '/target' }); res.end(); return; }
  if (req.url === '/cookie') { res.setHeader('set-cookie', ['app=1; Path=/; Domain=localhost', 'hangar_session=evil; Path=/']); res.end('ok'); return; }
  res.setHeader('content-type', 'text/html'); res.end('<h1>node app</h1>');
});
srv.on('upgrade', (req, socket) => {
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2) {
      let len = buf[1] & 127, off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      const masked = buf[1] & 128; const mask = masked ? buf.subarray(off, off + 4) : null; if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len)); if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      const op = buf[0] & 15; buf = buf.subarray(off + len);
      if (op === 8) { socket.end(Buffer.from([0x88, 0])); return; }
      if (op === 1 || op === 2) {
        const out = Buffer.from('echo:' + payload.toString());
        const hdr = out.length < 126 ? Buffer.from([0x80 | op, out.length]) : Buffer.from([0x80 | op, 126, out.length >> 8, out.length & 255]);
        socket.write(Buffer.concat([hdr, out]));
      }
    }
  });
});
srv.listen(3000, '0.0.0.0', () => console.log('node app up'));
`;


const hostOf = (port: number, id: string) => `${port}-${id}.preview.localhost:${new URL(baseUrl()).port}`;

function wsEcho(url: string, headers: Record<string, string>, messages: string[]): Promise<string[]> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { headers });
		const got: string[] = [];
		ws.on('open', () => messages.forEach((m) => ws.send(m)));
		ws.on('message', (d) => {
			got.push(d.toString());
			if (got.length === messages.length) {
				ws.close();
				resolve(got);
			}
		});
		ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
		ws.on('error', reject);
		setTimeout(() => reject(new Error('websocket timed out')), 10_000).unref();
	});
}

let org: Org;
let sb: { id: string };

async function startProcess(command: string) {
	const r = await call('POST', `/sandboxes/${sb.id}/processes`, { token: org.key, body: { command } });
	expect(r.status, r.text).toBe(201);
}

beforeAll(async () => {
	org = await newOrg();
	sb = await createSandbox(org);
	await exec(org, sb.id, 'cat > /workspace/app.js', { stdin: NODE_APP });
	await exec(org, sb.id, 'mkdir -p /workspace/py && echo "<h1>python app</h1>" > /workspace/py/index.html');
	await startProcess('node /workspace/app.js');
	await startProcess('python3 -m http.server 8000 --bind 127.0.0.1 --directory /workspace/py');
	await waitFor(async () => (await exec(org, sb.id, 'cat </dev/null >/dev/tcp/127.0.0.1/3000 && cat </dev/null >/dev/tcp/127.0.0.1/8000', { shell: 'bash' })).exit_code === 0, 20_000);
});

afterAll(async () => {
	if (sb) await call('DELETE', `/sandboxes/${sb.id}`, { token: org.key });
});

describe('preview records', () => {
	it('create (201), idempotent per port, list, get; url forms; readiness event', async () => {
		const events = fetch(`${baseUrl()}/api/v1/sandboxes/${sb.id}/events?since=0&types=sandbox.preview.*`, { headers: { authorization: `Bearer ${org.key}` } });
		const r = await call('POST', `/sandboxes/${sb.id}/previews`, { token: org.key, body: { port: 3000, visibility: 'public' } });
		expect(r.status, r.text).toBe(201);
		const p = r.body.data;
		expect(p).toMatchObject({ sandbox_id: sb.id, port: 3000, visibility: 'public', status: 'active' });
		expect(p.id).toMatch(/^preview_/);
		expect(p.url).toBe(`http://3000-${sb.id}.preview.localhost:${new URL(baseUrl()).port}/`);
		expect(p.path_url).toBe(`${baseUrl()}/preview/${sb.id}/3000/`);
		const again = await call('POST', `/sandboxes/${sb.id}/previews`, { token: org.key, body: { port: 3000 } });
		expect(again.status).toBe(200);
		expect(again.body.data.id).toBe(p.id);
		const list = await call('GET', `/sandboxes/${sb.id}/previews`, { token: org.key });
		expect(list.body.data.map((x: { id: string }) => x.id)).toContain(p.id);
		const got = await call('GET', `/sandboxes/${sb.id}/previews/${p.id}`, { token: org.key });
		expect(got.body.data).toEqual(p);
		const frames = await readSse(await events, (f) => f.event === 'sandbox.preview.ready', 20_000);
		expect(frames.find((f) => f.event === 'sandbox.preview.ready')!.data).toMatchObject({ preview_id: p.id, url: p.url, port: 3000 });
	});

	it('validation: port range, unknown preview', async () => {
		expectError(await call('POST', `/sandboxes/${sb.id}/previews`, { token: org.key, body: { port: 70000 } }), 422, 'VALIDATION_ERROR');
		expectError(await call('GET', `/sandboxes/${sb.id}/previews/preview_nope`, { token: org.key }), 404, 'NOT_FOUND');
	});

	it('expose: default port, url_info', async () => {
		const r = await call('POST', `/sandboxes/${sb.id}/expose`, { token: org.key, body: {} });
		expect(r.status, r.text).toBe(200);
		expect(r.body.url).toBe(r.body.preview_url);
		expect(r.body.url_info).toMatchObject({ url: r.body.url, class: 'preview', url_class: 'public_preview', stable_for_embedding: true, port: 3000 });
		expect(typeof r.body.url_info.recommended_next_action).toBe('string');
	});
});

describe('proxy (public preview of the Node app)', () => {
	it('host form and path form serve the app', async () => {
		const h = await hreq({ path: '/', host: hostOf(3000, sb.id) });
		expect(h.status).toBe(200);
		expect(h.text).toBe('<h1>node app</h1>');
		expect(h.headers['x-hangar-preview']).toBe(`${sb.id}:3000`);
		// The compact id form (no dashes) works too.
		expect((await hreq({ path: '/', host: hostOf(3000, sb.id.replace(/-/g, '')) })).status).toBe(200);
		const p = await hreq({ path: `/preview/${sb.id}/3000/` });
		expect(p.status).toBe(200);
		expect(p.text).toBe('<h1>node app</h1>');
		const noSlash = await hreq({ path: `/preview/${sb.id}/3000?x=1` });
		expect(noSlash.status).toBe(308);
		expect(noSlash.headers.location).toBe(`/preview/${sb.id}/3000/?x=1`);
	});

	it('streams a 24 MiB upload and rewrites what the app sees (Host, credentials, forwarded headers)', async () => {
		const body = crypto.randomBytes(24 * 1024 * 1024);
		const r = await hreq({
			method: 'POST',
			path: '/echo?a=1&preview_token=miosa_pv_x&mt=mp_y',
			host: hostOf(3000, sb.id),
			headers: { 'x-miosa-preview-token': 'miosa_pv_bogus', cookie: 'hangar_session=s; keep=me; hangar_pv=t', 'content-type': 'application/octet-stream' },
			body
		});
		expect(r.status, r.text).toBe(200);
		const seen = JSON.parse(r.text);
		expect(seen).toMatchObject({ method: 'POST', url: '/echo?a=1', host: 'localhost:3000', token: null, cookie: 'keep=me', forwarded_host: hostOf(3000, sb.id), len: body.length });
		expect(seen.sha).toBe(crypto.createHash('sha256').update(body).digest('hex'));
		const viaPath = JSON.parse((await hreq({ method: 'PUT', path: `/preview/${sb.id}/3000/echo/x`, body: 'hi' })).text);
		expect(viaPath).toMatchObject({ method: 'PUT', url: '/echo/x', prefix: `/preview/${sb.id}/3000`, len: 2 });
	});

	it('streams responses as they are produced', async () => {
		const base = new URL(baseUrl());
		const chunks: { at: number; text: string }[] = [];
		const t0 = Date.now();
		await new Promise<void>((resolve, reject) => {
			http
				.get({ host: base.hostname, port: base.port, path: '/stream', headers: { host: hostOf(3000, sb.id) } }, (res) => {
					res.on('data', (c: Buffer) => chunks.push({ at: Date.now() - t0, text: c.toString() }));
					res.on('end', () => resolve());
				})
				.on('error', reject);
		});
		expect(chunks.map((c) => c.text).join('')).toBe('tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n');
		expect(chunks.length).toBeGreaterThan(1);
		expect(chunks[0].at).toBeLessThan(chunks.at(-1)!.at - 80);
	});

	it('keeps redirects and cookies on the preview', async () => {
		const r = await hreq({ path: `/preview/${sb.id}/3000/redirect` });
		expect(r.status).toBe(302);
		expect(r.headers.location).toBe(`/preview/${sb.id}/3000/target`);
		const c = await hreq({ path: `/preview/${sb.id}/3000/cookie` });
		expect(c.headers['set-cookie']).toEqual([`app=1; Path=/preview/${sb.id}/3000/`]);
		const h = await hreq({ path: '/cookie', host: hostOf(3000, sb.id) });
		expect(h.headers['set-cookie']).toEqual(['app=1; Path=/']);
	});

	it('WebSocket echo through both forms', async () => {
		const port = new URL(baseUrl()).port;
		expect(await wsEcho(`ws://127.0.0.1:${port}/socket`, { host: hostOf(3000, sb.id) }, ['a', 'b'.repeat(300)])).toEqual(['echo:a', `echo:${'b'.repeat(300)}`]);
		expect(await wsEcho(`ws://127.0.0.1:${port}/preview/${sb.id}/3000/socket`, {}, ['hello'])).toEqual(['echo:hello']);
	});
});

describe('private previews and tokens (the Python app)', () => {
	let pid: string;
	const host = () => hostOf(8000, sb.id);

	beforeAll(async () => {
		const r = await call('POST', `/sandboxes/${sb.id}/previews`, { token: org.key, body: { port: 8000, visibility: 'private' } });
		expect(r.status, r.text).toBe(201);
		pid = r.body.data.id;
	});

	it('refused without a credential: an HTML page, not JSON', async () => {
		for (const r of [await hreq({ path: '/', host: host() }), await hreq({ path: `/preview/${sb.id}/8000/` })]) {
			expect(r.status).toBe(401);
			expect(r.headers['content-type']).toContain('text/html');
			expect(r.headers['x-hangar-preview-error']).toBe('PREVIEW_PRIVATE');
			expect(r.text).toContain('This preview is private');
		}
		// An API key is not a preview credential.
		expect((await hreq({ path: '/', host: host(), headers: { authorization: `Bearer ${org.key}` } })).status).toBe(401);
	});

	it('share token: header, query → cookie + redirect, revocation', async () => {
		const s = await call('POST', `/sandboxes/${sb.id}/previews/${pid}/share`, { token: org.key, body: { ttl_seconds: 600 } });
		expect(s.status, s.text).toBe(201);
		const token = s.body.preview_token as string;
		expect(token).toMatch(/^miosa_pv_/);
		expect(s.body.data).toMatchObject({ id: pid, share_token_prefix: token.slice(0, 12) });
		expect(new Date(s.body.data.share_token_expires_at).getTime()).toBeGreaterThan(Date.now() + 590_000);
		expect(s.body.share_url).toBe(`http://${host()}/?preview_token=${token}`);

		const viaHeader = await hreq({ path: '/', host: host(), headers: { 'x-miosa-preview-token': token } });
		expect(viaHeader.status).toBe(200);
		expect(viaHeader.text).toContain('python app');

		const viaQuery = await hreq({ path: `/?x=1&preview_token=${token}`, host: host() });
		expect(viaQuery.status).toBe(302);
		expect(viaQuery.headers.location).toBe('/?x=1');
		const cookie = viaQuery.headers['set-cookie']![0];
		expect(cookie).toMatch(/^hangar_pv=miosa_pv_.*HttpOnly/);
		const withCookie = await hreq({ path: '/?x=1', host: host(), headers: { cookie: cookie.split(';')[0] } });
		expect(withCookie.status).toBe(200);

		// Path form: the cookie is scoped to the preview's path.
		const pathQuery = await hreq({ path: `/preview/${sb.id}/8000/?preview_token=${token}` });
		expect(pathQuery.status).toBe(302);
		expect(pathQuery.headers.location).toBe(`/preview/${sb.id}/8000/`);
		expect(pathQuery.headers['set-cookie']![0]).toContain(`Path=/preview/${sb.id}/8000/`);

		// A share token of port 8000 does not open port 3000's private preview.
		await call('POST', `/sandboxes/${sb.id}/previews`, { token: org.key, body: { port: 3000, visibility: 'private' } });
		expect((await hreq({ path: '/', host: hostOf(3000, sb.id), headers: { 'x-miosa-preview-token': token } })).status).toBe(401);
		await call('POST', `/sandboxes/${sb.id}/previews`, { token: org.key, body: { port: 3000, visibility: 'public' } });

		const revoke = await call('DELETE', `/sandboxes/${sb.id}/previews/${pid}/share`, { token: org.key });
		expect(revoke.status, revoke.text).toBe(200);
		expect(revoke.body.data.revoked).toBe(1);
		await new Promise((r) => setTimeout(r, 2100)); // token lookups are cached for 2 s
		const after = await hreq({ path: '/', host: host(), headers: { cookie: cookie.split(';')[0] } });
		expect(after.status).toBe(401);
		expect(after.headers['x-hangar-preview-error']).toBe('PREVIEW_TOKEN_INVALID');
	});

	it('preview tokens: interact, read (GET/HEAD only), expiry, tampering, wrong sandbox', async () => {
		const interact = await call('POST', `/sandboxes/${sb.id}/preview-token`, { token: org.key, body: { scope: 'interact', port: 8000 } });
		expect(interact.status, interact.text).toBe(200);
		expect(interact.body).toMatchObject({ scope: 'interact', token: expect.stringMatching(/^mp_eyJ/) });
		expect(interact.body.url).toBe(`http://${host()}/?mt=${interact.body.token}`);
		expect(new Date(interact.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 3500_000);
		const it1 = interact.body.token as string;
		expect((await hreq({ path: `/?mt=${it1}`, host: host() })).status).toBe(302);
		expect((await hreq({ path: '/', host: host(), headers: { 'x-miosa-preview-token': it1 } })).status).toBe(200);
		// python's http.server answers POST with 501: the proxy let it through.
		expect((await hreq({ method: 'POST', path: '/', host: host(), headers: { 'x-miosa-preview-token': it1 }, body: 'x' })).status).toBe(501);

		const read = await call('POST', `/sandboxes/${sb.id}/preview-token`, { token: org.key, body: {} });
		expect(read.body.scope).toBe('read');
		const rt = read.body.token as string;
		expect((await hreq({ path: '/', host: host(), headers: { 'x-miosa-preview-token': rt } })).status).toBe(200);
		expect((await hreq({ method: 'HEAD', path: '/', host: host(), headers: { 'x-miosa-preview-token': rt } })).status).toBe(200);
		const post = await hreq({ method: 'POST', path: '/', host: host(), headers: { 'x-miosa-preview-token': rt }, body: 'x' });
		expect(post.status).toBe(403);
		expect(post.text).toContain('read-only');

		const short = await call('POST', `/sandboxes/${sb.id}/preview-token`, { token: org.key, body: { expires_in: 1, scope: 'interact' } });
		await new Promise((r) => setTimeout(r, 1600));
		const expired = await hreq({ path: '/', host: host(), headers: { 'x-miosa-preview-token': short.body.token } });
		expect(expired.status).toBe(401);
		expect(expired.headers['x-hangar-preview-error']).toBe('PREVIEW_TOKEN_EXPIRED');
		expect(expired.text).toContain('expired');

		const tampered = rt.slice(0, -3) + (rt.endsWith('AAA') ? 'BBB' : 'AAA');
		expect((await hreq({ path: '/', host: host(), headers: { 'x-miosa-preview-token': tampered } })).headers['x-hangar-preview-error']).toBe('PREVIEW_TOKEN_INVALID');

		const other = await createSandbox(org);
		const otherTok = await call('POST', `/sandboxes/${other.id}/preview-token`, { token: org.key, body: { scope: 'interact' } });
		expect((await hreq({ path: '/', host: host(), headers: { 'x-miosa-preview-token': otherTok.body.token } })).status).toBe(401);
		await call('DELETE', `/sandboxes/${other.id}`, { token: org.key });
	});

	it('preview-token validation and tenancy', async () => {
		expectError(await call('POST', `/sandboxes/${sb.id}/preview-token`, { token: org.key, body: { scope: 'admin' } }), 422, 'invalid_scope');
		expectError(await call('POST', `/sandboxes/${sb.id}/preview-token`, { token: org.key, body: { expires_in: 86_401 } }), 422, 'VALIDATION_ERROR');
		const stranger = await newOrg();
		expectError(await call('POST', `/sandboxes/${sb.id}/preview-token`, { token: stranger.key, body: {} }), 404, 'NOT_FOUND');
		expectError(await call('GET', `/sandboxes/${sb.id}/previews`, { token: stranger.key }), 404, 'NOT_FOUND');
	});
});

describe('error pages and lifecycle', () => {
	it('unknown sandbox → 404, nothing listening → 502', async () => {
		const unknown = await hreq({ path: '/', host: hostOf(3000, crypto.randomUUID()) });
		expect(unknown.status).toBe(404);
		expect(unknown.text).toContain('No such sandbox');
		await call('POST', `/sandboxes/${sb.id}/previews`, { token: org.key, body: { port: 4999, visibility: 'public' } });
		const closed = await hreq({ path: '/', host: hostOf(4999, sb.id) });
		expect(closed.status).toBe(502);
		expect(closed.headers['content-type']).toContain('text/html');
		expect(closed.text).toContain('nothing is listening on port 4999');
	});

	it('a paused sandbox resumes on a preview hit', async () => {
		const persistent = await createSandbox(org, { persistent: true });
		await exec(org, persistent.id, 'mkdir -p /workspace/s && echo resumed > /workspace/s/index.html');
		await call('POST', `/sandboxes/${persistent.id}/processes`, { token: org.key, body: { command: 'python3 -m http.server 8080 --bind 127.0.0.1 --directory /workspace/s' } });
		await waitFor(async () => (await exec(org, persistent.id, 'cat </dev/null >/dev/tcp/127.0.0.1/8080', { shell: 'bash' })).exit_code === 0);
		await call('POST', `/sandboxes/${persistent.id}/previews`, { token: org.key, body: { port: 8080, visibility: 'public' } });
		const paused = await call('POST', `/sandboxes/${persistent.id}/pause`, { token: org.key });
		expect(paused.body.data.state).toBe('paused');
		// A page load fans out: concurrent requests all wait for the one resume.
		const rs = await Promise.all(Array.from({ length: 8 }, () => hreq({ path: '/', host: hostOf(8080, persistent.id) })));
		expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200));
		expect(rs[0].text).toContain('resumed');
		expect((await call('GET', `/sandboxes/${persistent.id}`, { token: org.key })).body.data.state).toBe('running');

		await call('DELETE', `/sandboxes/${persistent.id}`, { token: org.key });
		const gone = await hreq({ path: '/', host: hostOf(8080, persistent.id) });
		expect(gone.status).toBe(410);
		expect(gone.text).toContain('destroyed');
	});

	it('deleting a preview makes it private again', async () => {
		const list = await call('GET', `/sandboxes/${sb.id}/previews`, { token: org.key });
		const p = list.body.data.find((x: { port: number }) => x.port === 4999);
		const d = await call('DELETE', `/sandboxes/${sb.id}/previews/${p.id}`, { token: org.key });
		expect(d.status).toBe(200);
		expect(d.body.data.status).toBe('deleted');
		expect((await hreq({ path: '/', host: hostOf(4999, sb.id) })).status).toBe(401);
	});
});
