import { describe, expect, it } from 'vitest';
import { call, expectError, newOrg } from './helpers';

describe('workspaces and projects', () => {
	it('creates, reads, updates and deletes workspaces with audit rows', async () => {
		const org = await newOrg();
		const c = await call('POST', '/workspaces', { token: org.key, body: { name: 'Team Alpha', external_workspace_id: 'ext-alpha' } });
		expect(c.status, c.text).toBe(201);
		expect(c.body.data).toMatchObject({ name: 'Team Alpha', slug: 'team-alpha', external_workspace_id: 'ext-alpha', is_default: false });
		const id = c.body.data.id;
		expect((await call('GET', `/workspaces/${id}`, { token: org.key })).body.data.name).toBe('Team Alpha');
		const u = await call('PATCH', `/workspaces/${id}`, { token: org.key, body: { name: 'Team A', slug: 'team-a' } });
		expect(u.body.data).toMatchObject({ name: 'Team A', slug: 'team-a' });
		const filtered = await call('GET', '/workspaces?external_workspace_id=ext-alpha', { token: org.key });
		expect(filtered.body.data.map((w: any) => w.id)).toEqual([id]);
		// Each workspace gets a default project.
		const projects = await call('GET', `/workspaces/${id}/projects`, { token: org.key });
		expect(projects.body.data).toHaveLength(1);
		const del = await call('DELETE', `/workspaces/${id}`, { token: org.key });
		expect(del.status).toBe(200);
		expectError(await call('GET', `/workspaces/${id}`, { token: org.key }), 404, 'NOT_FOUND');

		const log = await call('GET', '/audit-log?limit=100', { token: org.token });
		const actions = log.body.data.filter((e: any) => e.resource.id === id).map((e: any) => e.type);
		expect(actions).toEqual(['workspace.deleted', 'workspace.updated', 'workspace.created']);
		const created = log.body.data.find((e: any) => e.type === 'workspace.created' && e.resource.id === id);
		expect(created.request_id).toBe(c.headers.get('x-request-id'));
		expect(created.actor.type).toBe('api_key');
	});

	it('answers validation errors, slug conflicts and the protected default', async () => {
		const org = await newOrg();
		expectError(await call('POST', '/workspaces', { token: org.key, body: {} }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', '/workspaces', { token: org.key, body: { name: 'x', slug: 'Not A Slug' } }), 422, 'VALIDATION_ERROR');
		expect((await call('POST', '/workspaces', { token: org.key, body: { name: 'dup', slug: 'dup' } })).status).toBe(201);
		expectError(await call('POST', '/workspaces', { token: org.key, body: { name: 'dup2', slug: 'dup' } }), 409, 'CONFLICT');
		expectError(await call('GET', '/workspaces/not-a-uuid', { token: org.key }), 400, 'INVALID_ID');
		const def = (await call('GET', '/workspaces', { token: org.key })).body.data.find((w: any) => w.is_default);
		expectError(await call('DELETE', `/workspaces/${def.id}`, { token: org.key }), 409, 'CONFLICT');
	});

	it('projects: create by workspace id, slug or external id; update; delete', async () => {
		const org = await newOrg();
		const ws = (await call('POST', '/workspaces', { token: org.key, body: { name: 'Proj WS', slug: 'proj-ws', external_workspace_id: 'ext-pw' } })).body.data;
		const a = await call('POST', '/projects', { token: org.key, body: { workspace_id: ws.id, name: 'Alpha', external_project_id: 'p-1' } });
		expect(a.status, a.text).toBe(201);
		expect(a.body.data).toMatchObject({ workspace_id: ws.id, slug: 'alpha', external_project_id: 'p-1', external_workspace_id: 'ext-pw' });
		const b = await call('POST', '/projects', { token: org.key, body: { workspace_slug: 'proj-ws', name: 'Beta' } });
		expect(b.body.data.workspace_id).toBe(ws.id);
		const c = await call('POST', '/projects', { token: org.key, body: { external_workspace_id: 'ext-pw', name: 'Gamma' } });
		expect(c.body.data.workspace_id).toBe(ws.id);
		expectError(await call('POST', '/projects', { token: org.key, body: { name: 'Orphan' } }), 400, 'MISSING_PARAM');
		expectError(await call('POST', '/projects', { token: org.key, body: { workspace_slug: 'nope', name: 'X' } }), 404, 'NOT_FOUND');
		const list = await call('GET', `/projects?workspace_id=${ws.id}`, { token: org.key });
		expect(list.body.total).toBe(4);
		expect(list.body.page).toMatchObject({ page: 1, page_size: 20, total: 4 });
		const u = await call('PATCH', `/projects/${a.body.data.id}`, { token: org.key, body: { name: 'Alpha 2', description: 'renamed' } });
		expect(u.body.data).toMatchObject({ name: 'Alpha 2', description: 'renamed' });
		expect((await call('DELETE', `/projects/${b.body.data.id}`, { token: org.key })).status).toBe(200);
		expectError(await call('GET', `/projects/${b.body.data.id}`, { token: org.key }), 404, 'NOT_FOUND');
	});

	it('another organization’s workspaces and projects are NOT_FOUND', async () => {
		const a = await newOrg();
		const b = await newOrg();
		const ws = (await call('POST', '/workspaces', { token: a.key, body: { name: 'Private' } })).body.data;
		const p = (await call('POST', '/projects', { token: a.key, body: { workspace_id: ws.id, name: 'Secret' } })).body.data;
		expectError(await call('GET', `/workspaces/${ws.id}`, { token: b.key }), 404, 'NOT_FOUND');
		expectError(await call('PATCH', `/workspaces/${ws.id}`, { token: b.key, body: { name: 'mine' } }), 404, 'NOT_FOUND');
		expectError(await call('DELETE', `/workspaces/${ws.id}`, { token: b.key }), 404, 'NOT_FOUND');
		expectError(await call('GET', `/projects/${p.id}`, { token: b.key }), 404, 'NOT_FOUND');
		expectError(await call('POST', '/projects', { token: b.key, body: { workspace_id: ws.id, name: 'x' } }), 404, 'NOT_FOUND');
		const keys = await call('GET', '/api-keys', { token: b.key });
		expectError(await call('DELETE', `/api-keys/${keys.body.data[0].id}`, { token: a.key }), 404, 'NOT_FOUND');
		expect((await call('GET', '/workspaces', { token: b.key })).body.data.map((w: any) => w.id)).not.toContain(ws.id);
	});

	it('paginates with page/page_size, default 20 and max 100', async () => {
		const org = await newOrg();
		for (let i = 0; i < 24; i++) {
			const r = await call('POST', '/workspaces', { token: org.key, body: { name: `WS ${i}` } });
			expect(r.status).toBe(201);
		}
		const first = await call('GET', '/workspaces', { token: org.key });
		expect(first.body.data).toHaveLength(20);
		expect(first.body.page).toEqual({ page: 1, page_size: 20, total: 25 });
		const second = await call('GET', '/workspaces?page=2', { token: org.key });
		expect(second.body.data).toHaveLength(5);
		const ids = new Set([...first.body.data, ...second.body.data].map((w: any) => w.id));
		expect(ids.size).toBe(25);
		const small = await call('GET', '/workspaces?page=3&page_size=10', { token: org.key });
		expect(small.body.data).toHaveLength(5);
		expectError(await call('GET', '/workspaces?page_size=101', { token: org.key }), 422, 'VALIDATION_ERROR');
		expectError(await call('GET', '/workspaces?page=0', { token: org.key }), 422, 'VALIDATION_ERROR');
		expect((await call('GET', '/workspaces?page_size=100', { token: org.key })).body.data).toHaveLength(25);
	});
});
