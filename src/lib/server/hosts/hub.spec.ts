import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_HEADER, parseMessage, type Hello } from '../../protocol/index';
import { HandlerError, Peer, type PeerOptions } from '../../protocol/peer';
import { AgentError, HostUnavailableError, createHub, type Hub } from './hub';

const hello: Hello = {
	protocol: 1,
	agent_version: 'test',
	host: { name: 'h', region: 'local', labels: {}, drivers: ['bwrap'], capacity: { cpus: 1, memory_mb: 1, disk_mb: 1, max_sandboxes: 1 } },
	templates: [],
	sandboxes: []
};

let server: http.Server;
let hub: Hub;
let url: string;
let disconnects: string[];
let events: [string, unknown][];

beforeEach(async () => {
	disconnects = [];
	events = [];
	hub = createHub({
		authenticate: async (t) => (t === 'hk_good' ? { hostId: 'h1' } : null),
		onHello: async () => ({ destroy: ['old-1'] }),
		onHeartbeat: () => undefined,
		onEvent: (_h, name, data) => void events.push([name, data]),
		onDisconnect: (h) => void disconnects.push(h)
	});
	server = http.createServer();
	server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
	url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/agent`;
});

afterEach(async () => {
	await hub.close();
	server.closeAllConnections();
	await new Promise((r) => server.close(r));
});

/** A fake agent: the real Peer over a real WebSocket. */
async function fakeAgent(opts: PeerOptions = {}, h: Hello = hello) {
	const ws = new WebSocket(url, { headers: { Authorization: 'Bearer hk_good', [PROTOCOL_HEADER]: '1' } });
	const peer = new Peer(ws, opts);
	const welcome = new Promise<{ destroy: string[] }>((resolve) => {
		ws.on('message', (data, isBinary) => {
			if (isBinary) return peer.handleBinary(data as Buffer);
			const m = parseMessage(data.toString());
			if (!m) return;
			if (m.t === 'welcome') resolve(m);
			else peer.handleText(m);
		});
	});
	ws.on('close', () => peer.close());
	await new Promise((r) => ws.once('open', r));
	ws.send(JSON.stringify({ t: 'hello', ...h }));
	return { ws, peer, welcome: await welcome };
}

const status = (headers: Record<string, string>) =>
	new Promise<number>((resolve) => {
		const ws = new WebSocket(url, { headers });
		ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
		ws.on('open', () => resolve(101));
		ws.on('error', () => undefined);
	});

describe('hub', () => {
	test('refuses bad keys (401) and protocol mismatches (426)', async () => {
		expect(await status({ Authorization: 'Bearer nope' })).toBe(401);
		expect(await status({})).toBe(401);
		expect(await status({ Authorization: 'Bearer hk_good', [PROTOCOL_HEADER]: '2' })).toBe(426);
	});

	test('rejects a hello with another protocol version', async () => {
		const ws = new WebSocket(url, { headers: { Authorization: 'Bearer hk_good' } });
		await new Promise((r) => ws.once('open', r));
		const got = new Promise<[unknown, number]>((resolve) => {
			let msg: unknown;
			ws.on('message', (d) => (msg = JSON.parse(d.toString())));
			ws.on('close', (code) => resolve([msg, code]));
		});
		ws.send(JSON.stringify({ t: 'hello', ...hello, protocol: 2 }));
		const [msg, code] = await got;
		expect(msg).toMatchObject({ t: 'reject', code: 'PROTOCOL_MISMATCH' });
		expect(code).toBe(4000);
		expect(hub.isConnected('h1')).toBe(false);
	});

	test('hello → welcome with destroy list; calls, errors, timeouts, events', async () => {
		expect(hub.isConnected('h1')).toBe(false);
		await expect(hub.call('h1', 'agent.ping', {})).rejects.toBeInstanceOf(HostUnavailableError);
		const { welcome, peer } = await fakeAgent({
			onRequest: async (method, params, ctx) => {
				if (method === 'agent.ping') return { time: 42 };
				if (method === 'sandbox.get') throw new HandlerError('SANDBOX_NOT_FOUND', 'no such sandbox');
				if (method === 'exec.run') {
					ctx.progress({ stream: 'stdout', data: 'a' });
					ctx.progress({ stream: 'stderr', data: 'b' });
					return { stdout: 'a', stderr: 'b', exit_code: 0, duration_ms: 1, timed_out: false, truncated: false };
				}
				return new Promise(() => undefined); // never answers
			}
		});
		expect(welcome.destroy).toEqual(['old-1']);
		expect(hub.isConnected('h1')).toBe(true);
		expect(hub.connectedHostIds()).toEqual(['h1']);
		expect(await hub.call('h1', 'agent.ping', {})).toEqual({ time: 42 });
		const err = await hub.call('h1', 'sandbox.get', { id: 'x' }).catch((e) => e);
		expect(err).toBeInstanceOf(AgentError);
		expect(err).toMatchObject({ code: 'SANDBOX_NOT_FOUND', message: 'no such sandbox', hostId: 'h1' });
		const progress: unknown[] = [];
		const r = await hub.call('h1', 'exec.run', { sandbox_id: 's', command: 'x' }, { onProgress: (p) => progress.push(p) });
		expect(progress).toEqual([
			{ stream: 'stdout', data: 'a' },
			{ stream: 'stderr', data: 'b' }
		]);
		expect(r.exit_code).toBe(0);
		await expect(hub.call('h1', 'sandbox.list', {}, { timeoutMs: 50 })).rejects.toMatchObject({ name: 'CallTimeoutError' });
		peer.event('sandbox.exited', { sandbox_id: 's', reason: 'x' });
		await expect.poll(() => events).toEqual([['sandbox.exited', { sandbox_id: 's', reason: 'x' }]]);
	});

	test('disconnect mid-call → HostUnavailableError; newer connection replaces older', async () => {
		const a = await fakeAgent({ onRequest: () => new Promise(() => undefined) });
		const pending = hub.call('h1', 'sandbox.list', {}).catch((e: unknown) => e);
		const b = await fakeAgent({ onRequest: async () => ({ sandboxes: [] }) });
		expect(await pending).toBeInstanceOf(HostUnavailableError);
		await expect.poll(() => a.ws.readyState).toBe(WebSocket.CLOSED);
		expect(disconnects).toEqual([]); // replaced, not disconnected
		expect(await hub.call('h1', 'sandbox.list', {})).toEqual({ sandboxes: [] });
		b.ws.terminate();
		await expect.poll(() => disconnects).toEqual(['h1']);
		expect(hub.isConnected('h1')).toBe(false);
	});

	test('channels: early frames are buffered until the consumer reads', async () => {
		await fakeAgent({
			onChannel: (kind, _params, ch) => {
				if (kind !== 'echo') throw new HandlerError('CHANNEL_KIND_UNSUPPORTED', 'no');
				ch.write('early-');
				ch.write('bytes');
				ch.end();
			}
		});
		await expect(hub.openChannel('h1', 'pty', { sandbox_id: 's', session_id: 'p', cols: 80, rows: 24 })).rejects.toMatchObject({
			code: 'CHANNEL_KIND_UNSUPPORTED'
		});
		const ch = await hub.openChannel('h1', 'echo', {});
		await new Promise((r) => setTimeout(r, 100)); // frames arrive before anyone listens
		const chunks: Buffer[] = [];
		for await (const c of ch) chunks.push(c as Buffer);
		expect(Buffer.concat(chunks).toString()).toBe('early-bytes');
	});
});
