import { describe, expect, it } from 'vitest';
import { call, expectError, keyWith, newOrg, waitFor } from './helpers';

describe('API keys', () => {
	it('creates a key shown once, lists it by prefix, and revokes it at once', async () => {
		const org = await newOrg();
		const created = await call('POST', '/api-keys', {
			token: org.token,
			body: { name: 'ci', scopes: ['sandboxes:read', 'sandboxes:write'] },
			headers: { 'idempotency-key': crypto.randomUUID() }
		});
		expect(created.status).toBe(201);
		const key = created.body.data.key as string;
		expect(key).toMatch(/^msk_live_/);
		expect(created.body.data.token).toBe(key);
		expect(created.body.data).toMatchObject({ name: 'ci', status: 'active', scopes: ['sandboxes:read', 'sandboxes:write'] });
		expect(created.body.data.key_prefix).toBe(key.slice(0, 12));

		const list = await call('GET', '/api-keys', { token: org.token });
		expect(list.status).toBe(200);
		const listed = list.body.data.find((k: any) => k.id === created.body.data.id);
		expect(listed.prefix).toBe(key.slice(0, 12));
		expect(JSON.stringify(list.body)).not.toContain(key);

		// last_used_at is recorded when the key is used.
		expect((await call('GET', '/sandbox-templates', { token: key })).status).toBeLessThan(500);
		await waitFor(async () => {
			const l = await call('GET', '/api-keys', { token: org.token });
			return l.body.data.find((k: any) => k.id === created.body.data.id)?.last_used_at;
		}, 5000);

		const del = await call('DELETE', `/api-keys/${created.body.data.id}`, { token: org.token });
		expect(del.status).toBe(200);
		expect(del.body.data.status).toBe('revoked');
		expectError(await call('GET', '/me', { token: key }), 401, 'invalid_token');
		expectError(await call('DELETE', `/api-keys/${created.body.data.id}`, { token: org.token }), 404, 'NOT_FOUND');
	});

	it('enforces scopes with insufficient_scope, write implying read', async () => {
		const org = await newOrg();
		const readOnly = await keyWith(org, ['workspaces:read']);
		expect((await call('GET', '/workspaces', { token: readOnly })).status).toBe(200);
		const denied = await call('POST', '/workspaces', { token: readOnly, body: { name: 'x' } });
		expectError(denied, 403, 'insufficient_scope');
		expect(denied.body.error.details.required_scope).toBe('workspaces:write');
		const writer = await keyWith(org, ['workspaces:write']);
		expect((await call('GET', '/workspaces', { token: writer })).status).toBe(200);
		expectError(await call('GET', '/api-keys', { token: writer }), 403, 'insufficient_scope');
		// A key cannot mint a key with more power than it has.
		const minter = await keyWith(org, ['api_keys:write', 'workspaces:read']);
		const escalate = await call('POST', '/api-keys', { token: minter, body: { name: 'x', scopes: ['sandboxes:write'] } });
		expectError(escalate, 403, 'insufficient_scope');
		const inherit = await call('POST', '/api-keys', { token: minter, body: { name: 'y' } });
		expect(inherit.body.data.scopes.sort()).toEqual(['api_keys:write', 'workspaces:read']);
	});

	it('rejects unknown scopes and honours expiry', async () => {
		const org = await newOrg();
		const bad = await call('POST', '/api-keys', { token: org.token, body: { name: 'x', scopes: ['root:all'] } });
		expectError(bad, 422, 'VALIDATION_ERROR');
		expect(bad.body.error.details.fields['scopes.0']).toBeDefined();
		const soon = await call('POST', '/api-keys', { token: org.token, body: { name: 'short', expires_in_seconds: 1 } });
		expect(soon.status).toBe(201);
		expect((await call('GET', '/me', { token: soon.body.data.key })).status).toBe(200);
		await new Promise((r) => setTimeout(r, 1200));
		expectError(await call('GET', '/me', { token: soon.body.data.key }), 401, 'invalid_token');
		const past = await call('POST', '/api-keys', { token: org.token, body: { name: 'past', expires_at: new Date(Date.now() - 1000).toISOString() } });
		expectError(await call('GET', '/me', { token: past.body.data.key }), 401, 'invalid_token');
	});

	it('limits each key to its rate_limit_rpm with 429 and Retry-After', async () => {
		const org = await newOrg();
		const key = await keyWith(org, ['workspaces:read'], { rate_limit_rpm: 5 });
		const statuses: number[] = [];
		let limited = null;
		for (let i = 0; i < 7; i++) {
			const r = await call('GET', '/workspaces', { token: key });
			statuses.push(r.status);
			if (r.status === 429) limited = r;
		}
		expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
		expect(limited).not.toBeNull();
		expectError(limited!, 429, 'rate_limit_exceeded');
		expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
		// Other keys of the same organization are not affected.
		expect((await call('GET', '/workspaces', { token: org.key })).status).toBe(200);
	});
});
