import { describe, expect, it } from 'vitest';
import { call, expectError, newOrg } from './helpers';

describe('accounts and bearer tokens', () => {
	it('health answers without auth with version, database kind and hosts', async () => {
		const r = await call('GET', '/health');
		expect(r.status).toBe(200);
		expect(r.body.status).toBe('ok');
		expect(['pglite', 'postgres']).toContain(r.body.database);
		expect(typeof r.body.version).toBe('string');
		expect(typeof r.body.hosts_online).toBe('number');
		expect(r.headers.get('x-request-id')).toMatch(/^req_/);
	});

	it('signup creates the user, organization, default workspace and project', async () => {
		const org = await newOrg();
		const me = await call('GET', '/me', { token: org.token });
		expect(me.status).toBe(200);
		expect(me.body.data.user.email).toBe(org.email);
		expect(me.body.data.role).toBe('owner');
		const ws = await call('GET', '/workspaces', { token: org.token });
		expect(ws.body.data).toHaveLength(1);
		expect(ws.body.data[0]).toMatchObject({ slug: 'default', is_default: true });
		const projects = await call('GET', `/projects?workspace_id=${ws.body.data[0].id}`, { token: org.token });
		expect(projects.body.data).toHaveLength(1);
		expect(projects.body.data[0]).toMatchObject({ slug: 'default', workspace_id: ws.body.data[0].id });
		const tenant = await call('GET', '/platform/tenants/current', { token: org.key });
		expect(tenant.body).toMatchObject({ id: org.organizationId, name: 'Test Org' });
	});

	it('rejects bad signups with per-field details and duplicate emails', async () => {
		const bad = await call('POST', '/auth/signup', { body: { email: 'not-an-email', password: 'short' } });
		expectError(bad, 422, 'VALIDATION_ERROR');
		expect(Object.keys(bad.body.error.details.fields).sort()).toEqual(['email', 'password']);
		const org = await newOrg();
		const dup = await call('POST', '/auth/signup', { body: { email: org.email.toUpperCase(), password: 'another password' } });
		expectError(dup, 422, 'VALIDATION_ERROR');
		const notJson = await call('POST', '/auth/signup', { raw: '{nope', headers: { 'content-type': 'application/json' } });
		expectError(notJson, 422, 'VALIDATION_ERROR');
	});

	it('login returns a bearer token; wrong passwords are 401; logout ends the token', async () => {
		const org = await newOrg();
		const wrong = await call('POST', '/auth/login', { body: { email: org.email, password: 'wrong password' } });
		expectError(wrong, 401, 'invalid_token');
		const unknown = await call('POST', '/auth/login', { body: { email: 'nobody@example.test', password: 'whatever1' } });
		expectError(unknown, 401, 'invalid_token');
		const ok = await call('POST', '/auth/login', { body: { email: org.email, password: org.password } });
		expect(ok.status).toBe(200);
		expect(ok.body.token).toMatch(/^hst_/);
		expect(new Date(ok.body.expires_at).getTime()).toBeGreaterThan(Date.now());
		expect((await call('GET', '/me', { token: ok.body.token })).status).toBe(200);
		expect((await call('POST', '/auth/logout', { token: ok.body.token })).status).toBe(204);
		expectError(await call('GET', '/me', { token: ok.body.token }), 401, 'invalid_token');
	});

	it('login is rate limited per email and address', async () => {
		const org = await newOrg();
		let limited = null;
		for (let i = 0; i < 15 && !limited; i++) {
			const r = await call('POST', '/auth/login', { body: { email: org.email, password: `wrong-${i}` } });
			if (r.status === 429) limited = r;
		}
		expect(limited).not.toBeNull();
		expectError(limited!, 429, 'rate_limit_exceeded');
		expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
	});

	it('missing, malformed and unknown credentials are 401 invalid_token', async () => {
		expectError(await call('GET', '/workspaces'), 401, 'invalid_token');
		expectError(await call('GET', '/workspaces', { headers: { authorization: 'Basic abc' } }), 401, 'invalid_token');
		expectError(await call('GET', '/workspaces', { token: 'msk_live_doesnotexist' }), 401, 'invalid_token');
		expectError(await call('GET', '/workspaces', { token: 'hst_doesnotexist' }), 401, 'invalid_token');
	});

	it('sse tickets are minted for 60 s', async () => {
		const org = await newOrg();
		const r = await call('POST', '/auth/sse-ticket', { token: org.key });
		expect(r.status).toBe(201);
		expect(r.body.ticket).toMatch(/^sset_/);
		expect(r.body.expires_in).toBe(60);
	});
});
