import { describe, expect, it } from 'vitest';
import { baseUrl, call, expectError, keyWith, newOrg } from './helpers';

describe('API conventions', () => {
	it('replays an idempotent mutation instead of repeating it', async () => {
		const org = await newOrg();
		const key = crypto.randomUUID();
		const body = { name: 'Once Only' };
		const first = await call('POST', '/workspaces', { token: org.key, body, headers: { 'idempotency-key': key } });
		expect(first.status).toBe(201);
		const second = await call('POST', '/workspaces', { token: org.key, body, headers: { 'idempotency-key': key } });
		expect(second.status).toBe(201);
		expect(second.body).toEqual(first.body);
		expect(second.headers.get('idempotent-replayed')).toBe('true');
		const all = await call('GET', '/workspaces', { token: org.key });
		expect(all.body.data.filter((w: any) => w.name === 'Once Only')).toHaveLength(1);

		const other = await call('POST', '/workspaces', { token: org.key, body: { name: 'Different' }, headers: { 'idempotency-key': key } });
		expectError(other, 409, 'IDEMPOTENCY_CONFLICT');

		// Keys are per credential: another org's identical key is a fresh request.
		const b = await newOrg();
		const theirs = await call('POST', '/workspaces', { token: b.key, body, headers: { 'idempotency-key': key } });
		expect(theirs.status).toBe(201);
		expect(theirs.body.data.id).not.toBe(first.body.data.id);
	});

	it('replays client errors too, and the API key plaintext is replayed to its creator only', async () => {
		const org = await newOrg();
		const key = crypto.randomUUID();
		const bad1 = await call('POST', '/workspaces', { token: org.key, body: { name: '' }, headers: { 'idempotency-key': key } });
		const bad2 = await call('POST', '/workspaces', { token: org.key, body: { name: '' }, headers: { 'idempotency-key': key } });
		expectError(bad1, 422, 'VALIDATION_ERROR');
		expect(bad2.status).toBe(422);
		const k = crypto.randomUUID();
		const a = await call('POST', '/api-keys', { token: org.key, body: { name: 'idem' }, headers: { 'idempotency-key': k } });
		const b = await call('POST', '/api-keys', { token: org.key, body: { name: 'idem' }, headers: { 'idempotency-key': k } });
		expect(b.body.data.key).toBe(a.body.data.key);
		const keys = await call('GET', '/api-keys?page_size=100', { token: org.key });
		expect(keys.body.data.filter((x: any) => x.name === 'idem')).toHaveLength(1);
	});

	it('accepts empty POSTs without a Content-Type', async () => {
		const org = await newOrg();
		const res = await fetch(`${baseUrl()}/api/v1/auth/sse-ticket`, { method: 'POST', headers: { authorization: `Bearer ${org.key}` } });
		expect(res.status).toBe(201);
	});

	it('answers unknown routes and methods with the envelope', async () => {
		const org = await newOrg();
		expectError(await call('GET', '/definitely-not-a-route', { token: org.key }), 404, 'NOT_FOUND');
		const m = await call('PUT', '/health');
		expectError(m, 405, 'METHOD_NOT_ALLOWED');
	});

	it('refuses cookie-only cross-site mutations', async () => {
		const res = await fetch(`${baseUrl()}/api/v1/workspaces`, {
			method: 'POST',
			headers: { cookie: 'hangar_session=whatever', origin: 'https://evil.example', 'content-type': 'application/json' },
			body: JSON.stringify({ name: 'x' })
		});
		expect([401, 403]).toContain(res.status);
	});

	it('audit log: admins only, newest first, cursor pagination', async () => {
		const org = await newOrg();
		for (let i = 0; i < 5; i++) await call('POST', '/workspaces', { token: org.key, body: { name: `Audit ${i}` } });
		const page1 = await call('GET', '/audit-log?limit=3', { token: org.token });
		expect(page1.status).toBe(200);
		expect(page1.body.data).toHaveLength(3);
		expect(page1.body.next_cursor).toBeTruthy();
		const page2 = await call('GET', `/audit-log?limit=3&after=${page1.body.next_cursor}`, { token: org.token });
		const ids = [...page1.body.data, ...page2.body.data].map((e: any) => Number(e.id));
		expect(ids).toEqual([...ids].sort((a, b) => b - a));
		expect(new Set(ids).size).toBe(ids.length);
		const byType = await call('GET', '/audit-log?type=workspace.created', { token: org.token });
		expect(byType.body.data.every((e: any) => e.type === 'workspace.created')).toBe(true);
		expect(byType.body.data).toHaveLength(5);
		const noScope = await keyWith(org, ['workspaces:read']);
		expectError(await call('GET', '/audit-log', { token: noScope }), 403, 'insufficient_scope');
		const withScope = await keyWith(org, ['audit:read']);
		expect((await call('GET', '/audit-log', { token: withScope })).status).toBe(200);
		// Another org sees none of it.
		const other = await newOrg();
		const theirs = await call('GET', '/audit-log?limit=100', { token: other.token });
		expect(theirs.body.data.some((e: any) => e.type === 'workspace.created')).toBe(false);
	});
});
