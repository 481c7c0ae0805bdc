/**
 * 'tcp' channels (previews): a byte stream to a port inside a sandbox's network namespace.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Agent } from '../main';
import { HOST_ID, SIZE, cleanupDir, sid, startControlPlane, startTestAgent, tempDir, waitFor, type TestControlPlane } from './harness';

let cp: TestControlPlane;
let agent: Agent;
let dir: string;
let id: string;

// A dependency-free Node server: GET / → hello, POST /echo → the body back, /sha → sha256 of the body.
const SERVER = `
const http = require('http'); const crypto = require('crypto');
http.createServer((req, res) => {
  if (req.url === '/echo') { res.writeHead(200, {'content-type': 'application/octet-stream'}); req.pipe(res); return; }
  if (req.url === '/sha') { const h = crypto.createHash('sha256'); req.on('data', c => h.update(c)); req.on('end', () => res.end(h.digest('hex'))); return; }
  res.end('hello from ' + require('os').hostname() + ' ' + req.headers.host);
}).listen(8080, '127.0.0.1', () => console.log('listening'));
`;

const call = <M extends Parameters<TestControlPlane['hub']['call']>[1]>(method: M, params: Parameters<typeof cp.hub.call<M>>[2]) =>
	cp.hub.call(HOST_ID, method, params);

/** An HTTP request spoken over a tcp channel (the control plane's preview proxy does the same). */
function httpOver(ch: Duplex, opts: { method?: string; path: string; body?: Buffer }): Promise<{ status: number; body: Buffer }> {
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ method: opts.method ?? 'GET', path: opts.path, headers: { host: 'localhost:8080', connection: 'close' }, createConnection: () => ch as never },
			(res) => {
				const parts: Buffer[] = [];
				res.on('data', (c: Buffer) => parts.push(c));
				res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
				res.on('error', reject);
			}
		);
		req.on('error', reject);
		req.end(opts.body);
	});
}

beforeAll(async () => {
	dir = tempDir('tcp');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir });
	id = sid();
	await call('sandbox.create', { id, template: 'host-minimal', size: SIZE });
	await call('exec.run', { sandbox_id: id, command: 'cat > /workspace/server.js', stdin: SERVER });
	await call('process.start', { sandbox_id: id, command: 'node /workspace/server.js', name: 'web' });
	await waitFor(async () => (await call('exec.run', { sandbox_id: id, command: 'cat < /dev/null > /dev/tcp/127.0.0.1/8080', shell: 'bash' })).exit_code === 0, 15_000, 'server to listen');
});

afterAll(async () => {
	await agent?.stop();
	await cp?.close();
	if (dir) await cleanupDir(dir);
});

describe('tcp channel', () => {
	test('HTTP request and response through the sandbox loopback', async () => {
		const ch = await cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8080 });
		const r = await httpOver(ch, { path: '/' });
		expect(r.status).toBe(200);
		expect(r.body.toString()).toBe('hello from sandbox localhost:8080');
	});

	test('nothing listening → CONNECTION_REFUSED at open', async () => {
		await expect(cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8081 })).rejects.toMatchObject({ code: 'CONNECTION_REFUSED' });
	});

	test('the host loopback is not reachable: the port is the sandbox’s', async () => {
		const host = http.createServer((_q, s) => s.end('host')).listen(0, '127.0.0.1');
		await new Promise((r) => host.once('listening', r));
		const port = (host.address() as { port: number }).port;
		try {
			await expect(cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port })).rejects.toMatchObject({ code: 'CONNECTION_REFUSED' });
		} finally {
			host.close();
		}
	});

	test('bad params and unknown sandboxes are refused', async () => {
		await expect(cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 0 })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
		await expect(cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8080, host: '10.0.2.2' })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
		await expect(cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: 'nope', port: 8080 })).rejects.toMatchObject({ code: 'SANDBOX_NOT_FOUND' });
	});

	test('large bodies stream both ways (32 MiB echo) intact', async () => {
		const body = randomBytes(32 * 1024 * 1024);
		const ch = await cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8080 });
		const t = performance.now();
		const r = await httpOver(ch, { method: 'POST', path: '/echo', body });
		const ms = performance.now() - t;
		expect(r.status).toBe(200);
		expect(r.body.length).toBe(body.length);
		expect(createHash('sha256').update(r.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
		if (process.env.HANGAR_MEASURE) console.log(`32 MiB echo through a tcp channel: ${ms.toFixed(0)} ms`);
	});

	test('upload half-close: the server sees EOF and answers', async () => {
		const body = randomBytes(3 * 1024 * 1024);
		const ch = await cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8080 });
		const r = await httpOver(ch, { method: 'POST', path: '/sha', body });
		expect(r.body.toString()).toBe(createHash('sha256').update(body).digest('hex'));
	});

	test('many concurrent channels', async () => {
		const rs = await Promise.all(
			Array.from({ length: 20 }, async () => httpOver(await cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8080 }), { path: '/' }))
		);
		expect(rs.every((r) => r.status === 200)).toBe(true);
		await waitFor(() => agent.tcp.count() === 0, 5000, 'relays to exit');
	});

	test('a paused sandbox refuses; destroying a sandbox ends its open channels', async () => {
		await call('sandbox.pause', { id });
		await expect(cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8080 })).rejects.toMatchObject({ code: 'SANDBOX_PAUSED' });
		await call('sandbox.resume', { id });
		const ch = await cp.hub.openChannel(HOST_ID, 'tcp', { sandbox_id: id, port: 8080 });
		expect(agent.tcp.count()).toBe(1);
		const closed = new Promise((r) => ch.once('close', r));
		ch.on('error', () => undefined);
		ch.resume();
		await call('sandbox.destroy', { id });
		await closed;
		expect(agent.tcp.count()).toBe(0);
	});
});
