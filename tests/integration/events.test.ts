import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { baseUrl, call, createSandbox, exec, expectError, newOrg, readSse, waitFor } from './helpers';

describe('event streams', () => {
	it('tenant stream with a single-use ticket, type filter and monotonic ids', async () => {
		const org = await newOrg();
		const t = await call('POST', '/auth/sse-ticket', { token: org.key });
		const res = await fetch(`${baseUrl()}/api/v1/events/stream?types=sandbox.*&ticket=${t.body.ticket}`);
		expect(res.status).toBe(200);
		const reading = readSse(res, (f) => f.event === 'sandbox.exec.completed', 20_000);
		const s = await createSandbox(org);
		await exec(org, s.id, 'echo hi');
		const frames = await reading;
		const types = frames.map((f) => f.event);
		expect(types).toEqual(expect.arrayContaining(['sandbox.created', 'sandbox.started', 'sandbox.exec.started', 'sandbox.exec.completed']));
		const ids = frames.map((f) => Number(f.id));
		expect(ids).toEqual([...ids].sort((a, b) => a - b));
		expect(frames.find((f) => f.event === 'sandbox.started')!.data).toMatchObject({ sandbox_id: s.id, region: expect.any(String) });
		// The ticket was single use.
		const again = await fetch(`${baseUrl()}/api/v1/events/stream?ticket=${t.body.ticket}`);
		expect(again.status).toBe(401);
		await again.body?.cancel();
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('resumes with Last-Event-ID without losing or repeating events', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const first = await fetch(`${baseUrl()}/api/v1/sandboxes/${s.id}/events?since=0`, { headers: { authorization: `Bearer ${org.key}` } });
		const seen = await readSse(first, (f) => f.event === 'sandbox.started', 10_000);
		const lastId = seen.at(-1)!.id!;
		// Events happen while nobody listens.
		for (let i = 0; i < 3; i++) await exec(org, s.id, `echo ${i}`);
		const resumed = await fetch(`${baseUrl()}/api/v1/sandboxes/${s.id}/events`, { headers: { authorization: `Bearer ${org.key}`, 'last-event-id': lastId } });
		let completed = 0;
		const more = await readSse(resumed, (f) => f.event === 'sandbox.exec.completed' && ++completed === 3, 10_000);
		const rest = more.filter((f) => f.event?.startsWith('sandbox.exec'));
		expect(rest.map((f) => f.event)).toEqual(Array(3).fill(['sandbox.exec.started', 'sandbox.exec.completed']).flat());
		const all = [...seen, ...more].map((f) => Number(f.id));
		expect(new Set(all).size).toBe(all.length);
		expect(Math.min(...more.map((f) => Number(f.id)))).toBeGreaterThan(Number(lastId));
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});

	it('needs a credential and the right scope', async () => {
		const org = await newOrg();
		expectError(await call('GET', '/events/stream'), 401, 'invalid_token');
		expectError(await call('GET', '/events/stream?ticket=sset_forged'), 401, 'invalid_token');
		const list = await call('GET', '/events', { token: org.key });
		expect(list.status).toBe(200);
	});
});

describe('webhooks', () => {
	it('delivers signed events, retrying after failures, and records deliveries', async () => {
		const org = await newOrg();
		const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
		let failuresLeft = 2;
		const server = http.createServer((req, res) => {
			let body = '';
			req.on('data', (c) => (body += c));
			req.on('end', () => {
				received.push({ headers: req.headers, body });
				if (failuresLeft > 0) {
					failuresLeft--;
					res.writeHead(500).end('try again');
				} else res.writeHead(204).end();
			});
		});
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
		try {
			const created = await call('POST', '/webhooks', { token: org.key, body: { url, events: ['sandbox.started'], max_retries: 3 } });
			expect(created.status, created.text).toBe(201);
			const secret = created.body.data.secret as string;
			expect(secret).toMatch(/^sk_live_/);
			expect(JSON.stringify((await call('GET', `/webhooks/${created.body.data.id}`, { token: org.key })).body)).not.toContain(secret);

			const s = await createSandbox(org);
			await waitFor(async () => received.length >= 3, 20_000);
			const last = received.at(-1)!;
			const sig = String(last.headers['miosa-signature']);
			const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
			expect(m).not.toBeNull();
			const expected = crypto.createHmac('sha256', secret).update(`${m![1]}.${last.body}`).digest('hex');
			expect(m![2]).toBe(expected);
			const payload = JSON.parse(last.body);
			expect(payload).toMatchObject({ type: 'sandbox.started', sandbox_id: s.id });
			// The same event each time (one delivery, three attempts).
			expect(new Set(received.map((r) => r.headers['miosa-event-id'])).size).toBe(1);

			const deliveries = await waitFor(async () => {
				const d = await call('GET', `/webhooks/${created.body.data.id}/deliveries`, { token: org.key });
				return d.body.data[0]?.status === 'succeeded' ? d.body.data : null;
			});
			expect(deliveries[0]).toMatchObject({ event_type: 'sandbox.started', attempts: 3, status: 'succeeded', last_status_code: 204 });

			const test = await call('POST', `/webhooks/${created.body.data.id}/test`, { token: org.key });
			expect(test.status).toBe(202);
			await waitFor(async () => received.some((r) => r.headers['miosa-event-type'] === 'webhook.test'));
			await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
		} finally {
			server.close();
		}
	});

	it('gives up after max attempts and validates input; other tenants get 404', async () => {
		const org = await newOrg();
		const server = http.createServer((_req, res) => res.writeHead(503).end());
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
		try {
			const w = await call('POST', '/webhooks', { token: org.key, body: { url, events: ['webhook.test'], max_retries: 1 } });
			await call('POST', `/webhooks/${w.body.data.id}/test`, { token: org.key });
			const d = await waitFor(async () => {
				const r = await call('GET', `/webhooks/${w.body.data.id}/deliveries`, { token: org.key });
				return r.body.data[0]?.status === 'failed' ? r.body.data[0] : null;
			}, 15_000);
			expect(d).toMatchObject({ attempts: 2, last_status_code: 503 });
			expectError(await call('POST', '/webhooks', { token: org.key, body: { url: 'ftp://x' } }), 422, 'VALIDATION_ERROR');
			expectError(await call('POST', '/webhooks', { token: org.key, body: { url, max_retries: 99 } }), 422, 'VALIDATION_ERROR');
			const other = await newOrg();
			expectError(await call('GET', `/webhooks/${w.body.data.id}`, { token: other.key }), 404, 'NOT_FOUND');
			expectError(await call('DELETE', `/webhooks/${w.body.data.id}`, { token: other.key }), 404, 'NOT_FOUND');
			const patched = await call('PATCH', `/webhooks/${w.body.data.id}`, { token: org.key, body: { active: false } });
			expect(patched.body.data.active).toBe(false);
			expect((await call('DELETE', `/webhooks/${w.body.data.id}`, { token: org.key })).status).toBe(200);
		} finally {
			server.close();
		}
	});
});
