// Deployments: publish from a real sandbox (source snapshot → builder sandbox → release), serve the
// result at its URL (static from the control plane, dynamic through a runtime sandbox), roll back
// under load, failing builds, concurrent and idempotent publishes, retention (410), env, tenancy.
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgent, type TestAgent } from '../support/agent';
import { startServer, type TestServer } from '../support/server';
import { apiAt, baseUrl, call, createSandbox, exec, expectError, hreq, newOrg, readSse, waitFor, type Org } from './helpers';

const port = () => new URL(baseUrl()).port;

async function writeFiles(org: Org, sbId: string, files: Record<string, string>) {
	const r = await call('POST', `/sandboxes/${sbId}/files/write-many`, {
		token: org.key,
		body: { files: Object.entries(files).map(([path, content]) => ({ path: `/workspace/${path}`, content, encoding: 'utf8' })) }
	});
	expect(r.status, r.text).toBeLessThan(300);
}

async function newDeployment(org: Org, body: Record<string, unknown>) {
	const r = await call('POST', '/deployments', { token: org.key, body });
	expect(r.status, r.text).toBe(201);
	return r.body.data;
}

async function publish(org: Org, depId: string, body: Record<string, unknown>, key = crypto.randomUUID()) {
	return call('POST', `/deployments/${depId}/publish`, { token: org.key, body, headers: { 'idempotency-key': key } });
}

async function waitVersion(org: Org, depId: string, versionId: string, states = ['ready', 'failed'], timeoutMs = 120_000) {
	return waitFor(
		async () => {
			const r = await call('GET', `/deployments/${depId}/versions/${versionId}`, { token: org.key });
			expect(r.status, r.text).toBe(200);
			return states.includes(r.body.data.state) ? r.body.data : null;
		},
		timeoutMs,
		250
	);
}

/** Waits until production serves the version (promotion follows right after ready). */
async function waitActive(org: Org, depId: string, versionId: string) {
	return waitFor(async () => {
		const g = (await call('GET', `/deployments/${depId}`, { token: org.key })).body.data;
		return g.active_version_id === versionId ? g : null;
	});
}

/** GET a deployment URL (host form) through the control plane. */
function app(dep: { auto_subdomain: string }, path = '/', headers: Record<string, string> = {}) {
	return hreq({ path, host: `${dep.auto_subdomain}:${port()}`, headers });
}

describe('deployments', () => {
	let org: Org;
	let sb: any;

	beforeAll(async () => {
		org = await newOrg();
		sb = await createSandbox(org, { name: 'site-src', timeout_sec: 1800 });
	});

	it('publishes a static site from a sandbox and serves it with caching headers (host and path forms)', async () => {
		await writeFiles(org, sb.id, {
			'index.html': '<!doctype html><h1 id="v">one</h1>',
			'about/index.html': '<h1>about</h1>',
			'assets/app.3f9a1b2c4d.js': 'console.log(1)',
			'style.css': 'body { color: red }\n'.repeat(200),
			'node_modules/junk/index.js': 'excluded'
		});
		const dep = await newDeployment(org, { name: 'Static Site' });
		expect(dep.id).toMatch(/^dep_/);
		expect(dep.state).toBe('pending');
		expect(dep.public_url).toBe(`http://static-site.${dep.auto_subdomain.split('.')[1]}.apps.localhost:${port()}/`);

		const key = crypto.randomUUID();
		const r = await publish(org, dep.id, { source_sandbox_id: sb.id }, key);
		expect(r.status, r.text).toBe(202);
		const v = r.body.data.version;
		expect(v.id).toMatch(/^ver_/);
		expect(v.version_number).toBe(1);
		expect(['created', 'building']).toContain(v.state);

		// The same Idempotency-Key answers the first result: still one version.
		const again = await publish(org, dep.id, { source_sandbox_id: sb.id }, key);
		expect(again.status).toBe(202);
		expect(again.body.data.version.id).toBe(v.id);

		const ready = await waitVersion(org, dep.id, v.id);
		expect(ready.state, JSON.stringify(ready)).toBe('ready');
		expect(ready.kind).toBe('static');
		expect(ready.source_sha256).toMatch(/^[0-9a-f]{64}$/);
		expect(ready.artifact_sha256).toMatch(/^[0-9a-f]{64}$/);
		expect(ready.source_files).toBe(4); // node_modules excluded
		expect(ready.artifact_manifest).toMatchObject({ files: 4, entrypoint: 'index.html' });
		expect(ready.build_duration_ms).toBeGreaterThan(0);
		expect(ready.release_id).toMatch(/^rel_/);
		const list = await call('GET', `/deployments/${dep.id}/versions`, { token: org.key });
		expect(list.body.data).toHaveLength(1);

		const d = await waitFor(async () => {
			const g = await call('GET', `/deployments/${dep.id}`, { token: org.key });
			return g.body.data.active_version_id === v.id ? g.body.data : null;
		});
		expect(d.state).toBe('running');
		expect(d.running_artifact_sha256).toBe(ready.artifact_sha256);

		const home = await app(d, '/');
		expect(home.status).toBe(200);
		expect(home.text).toContain('one');
		expect(home.headers['content-type']).toContain('text/html');
		expect(home.headers['cache-control']).toBe('public, max-age=0, must-revalidate');
		expect(home.headers['x-hangar-version']).toBe('1');
		const etag = home.headers.etag as string;
		expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
		expect((await app(d, '/', { 'if-none-match': etag })).status).toBe(304);
		const asset = await app(d, '/assets/app.3f9a1b2c4d.js');
		expect(asset.headers['cache-control']).toContain('immutable');
		expect(asset.headers['content-type']).toContain('javascript');
		// Text over 1 KiB is gzipped for clients that accept it, with its own ETag.
		const css = await app(d, '/style.css', { 'accept-encoding': 'gzip, br' });
		expect(css.headers['content-encoding']).toBe('gzip');
		expect(css.headers.etag).toMatch(/-gz"$/);
		expect(gunzipSync(css.body).toString()).toBe('body { color: red }\n'.repeat(200));
		expect((await app(d, '/style.css', { 'accept-encoding': 'gzip', 'if-none-match': css.headers.etag as string })).status).toBe(304);
		const plain = await app(d, '/style.css');
		expect(plain.headers['content-encoding']).toBeUndefined();
		expect(plain.headers['content-length']).toBe(String(20 * 200));
		// Byte ranges (media seeking).
		const part = await app(d, '/style.css', { range: 'bytes=5-9' });
		expect(part.status).toBe(206);
		expect(part.headers['content-range']).toBe(`bytes 5-9/${20 * 200}`);
		expect(part.text).toBe('{ col');
		expect((await app(d, '/style.css', { range: 'bytes=-4' })).text).toBe('d }\n');
		expect((await app(d, '/style.css', { range: 'bytes=99999-' })).status).toBe(416);
		const dir = await app(d, '/about');
		expect(dir.status).toBe(301);
		expect(dir.headers.location).toBe('/about/');
		expect((await app(d, '/about/')).text).toContain('about');
		expect((await app(d, '/nope')).status).toBe(404);
		expect((await app(d, '/node_modules/junk/index.js')).status).toBe(404);

		// Path form: same content, sandboxed (it shares the dashboard's origin).
		const pathForm = await hreq({ path: new URL(d.path_url).pathname });
		expect(pathForm.status).toBe(200);
		expect(pathForm.text).toContain('one');
		expect(pathForm.headers['content-security-policy']).toContain('sandbox');

		// The build log tells the story; the release is inspectable.
		const log = await call('GET', `/deployments/${dep.id}/versions/${v.id}/logs`, { token: org.key });
		expect(log.body.data.log).toContain(`source snapshot sha256:${ready.source_sha256}`);
		expect(log.body.data.log).toContain('static site from /workspace');
		const rel = await call('GET', `/releases/${ready.release_id}`, { token: org.key });
		expect(rel.body.data).toMatchObject({ kind: 'static', sha256: ready.artifact_sha256, deployment_version_id: v.id });

		// Lifecycle events, in order.
		const ev = await fetch(`${baseUrl()}/api/v1/deployments/${dep.id}/events?since=0`, { headers: { authorization: `Bearer ${org.key}` } });
		const frames = await readSse(ev, (f) => f.event === 'deployment.published', 10_000);
		const types = frames.map((f) => f.event);
		expect(types).toEqual(expect.arrayContaining(['deployment.created', 'deployment.build_started', 'deployment.build_succeeded', 'deployment.published']));
		expect(types.indexOf('deployment.build_started')).toBeLessThan(types.indexOf('deployment.build_succeeded'));
	});

	it('rolls back while a client loops requests: zero failures, the content flips within a second', async () => {
		const dep = await newDeployment(org, { name: 'Flip' });
		await writeFiles(org, sb.id, { 'index.html': 'v1 content' });
		const v1 = (await publish(org, dep.id, { source_sandbox_id: sb.id })).body.data.version;
		expect((await waitVersion(org, dep.id, v1.id)).state).toBe('ready');
		await waitActive(org, dep.id, v1.id);
		await writeFiles(org, sb.id, { 'index.html': 'v2 content' });
		const v2 = (await publish(org, dep.id, { source_sandbox_id: sb.id, environment: 'production' })).body.data.version;
		expect((await waitVersion(org, dep.id, v2.id)).state).toBe('ready');
		const d = (await call('GET', `/deployments/${dep.id}`, { token: org.key })).body.data;
		await waitFor(async () => (await app(d)).text === 'v2 content');

		// Diff between the versions: the changed file.
		const diff = await call('GET', `/deployments/${dep.id}/versions/${v2.id}/diff?against=${v1.id}`, { token: org.key });
		expect(diff.body.data.files.changed).toContain('index.html');

		const seen: { at: number; status: number; text: string }[] = [];
		let stop = false;
		const loop = async () => {
			while (!stop) {
				const r = await app(d).catch((e) => ({ status: 0, text: String(e) }) as { status: number; text: string });
				seen.push({ at: Date.now(), status: r.status, text: r.text });
			}
		};
		const loops = [loop(), loop(), loop(), loop()];
		await new Promise((r) => setTimeout(r, 500));
		const t0 = Date.now();
		const rb = await call('POST', `/deployments/${dep.id}/rollback`, { token: org.key, body: {}, headers: { 'idempotency-key': crypto.randomUUID() } });
		const t1 = Date.now();
		expect(rb.status, rb.text).toBe(200);
		expect(rb.body.data.active_version_id).toBe(v1.id);
		await new Promise((r) => setTimeout(r, 1000));
		stop = true;
		await Promise.all(loops);

		const failures = seen.filter((s) => s.status !== 200);
		expect(failures, JSON.stringify(failures.slice(0, 3))).toHaveLength(0);
		expect(seen.length).toBeGreaterThan(20);
		expect(seen.some((s) => s.at < t0 && s.text === 'v2 content')).toBe(true);
		// Every request that started after the rollback answered (+ in-flight ones) sees v1.
		const after = seen.filter((s) => s.at > t1 + 50);
		expect(after.length).toBeGreaterThan(5);
		expect(after.every((s) => s.text === 'v1 content')).toBe(true);
		const firstV1 = seen.find((s) => s.at >= t0 && s.text === 'v1 content');
		expect(firstV1!.at - t0).toBeLessThan(1000);

		// Rolling back again goes to v2 (the version served before).
		const back = await call('POST', `/deployments/${dep.id}/rollback`, { token: org.key, body: {} });
		expect(back.body.data.active_version_id).toBe(v2.id);
		expect((await app(d)).text).toBe('v2 content');
	});

	it('a failing build keeps the active version serving; failed versions cannot be promoted', async () => {
		const dep = await newDeployment(org, { name: 'Sturdy' });
		await writeFiles(org, sb.id, { 'index.html': 'good' });
		const v1 = (await publish(org, dep.id, { source_sandbox_id: sb.id })).body.data.version;
		expect((await waitVersion(org, dep.id, v1.id)).state).toBe('ready');
		await waitActive(org, dep.id, v1.id);
		const bad = (await publish(org, dep.id, { source_sandbox_id: sb.id, build_command: 'echo boom-from-build >&2; exit 3' })).body.data.version;
		const failed = await waitVersion(org, dep.id, bad.id);
		expect(failed.state).toBe('failed');
		expect(failed.error).toContain('build failed (exit 3)');
		const log = await call('GET', `/deployments/${dep.id}/versions/${bad.id}/logs`, { token: org.key });
		expect(log.body.data.log).toContain('boom-from-build');
		const d = (await call('GET', `/deployments/${dep.id}`, { token: org.key })).body.data;
		expect(d.active_version_id).toBe(v1.id);
		expect(d.state).toBe('running');
		expect((await app(d)).text).toBe('good');
		expectError(await call('POST', `/deployments/${dep.id}/versions/${bad.id}/promote`, { token: org.key, body: {} }), 409, 'VERSION_NOT_READY');
		expectError(await call('POST', `/deployments/${dep.id}/rollback`, { token: org.key, body: { version_id: bad.id } }), 409, 'VERSION_NOT_READY');
		// The builder sandboxes are gone.
		const builders = await call('GET', `/sandboxes?tags=deployment-builder`, { token: org.key });
		expect(builders.status).toBe(200);
		for (const s of builders.body.data ?? []) expect(['destroyed', 'error']).toContain(s.state);
	});

	it('two publishes at once get distinct version numbers', async () => {
		const dep = await newDeployment(org, { name: 'Racy' });
		await writeFiles(org, sb.id, { 'index.html': 'race' });
		const [a, b] = await Promise.all([publish(org, dep.id, { source_sandbox_id: sb.id }), publish(org, dep.id, { source_sandbox_id: sb.id })]);
		expect(a.status, a.text).toBe(202);
		expect(b.status, b.text).toBe(202);
		const nums = [a.body.data.version.version_number, b.body.data.version.version_number].sort();
		expect(nums).toEqual([1, 2]);
		const [ra, rb] = await Promise.all([waitVersion(org, dep.id, a.body.data.version.id), waitVersion(org, dep.id, b.body.data.version.id)]);
		expect(ra.state).toBe('ready');
		expect(rb.state).toBe('ready');
		// Same files → the same artifact, stored once.
		expect(ra.artifact_sha256).toBe(rb.artifact_sha256);
	});

	it('archived artifacts are collected after retention: rollback answers 410', async () => {
		const dep = await newDeployment(org, { name: 'Retained' });
		await writeFiles(org, sb.id, { 'index.html': 'r1' });
		const v1 = (await publish(org, dep.id, { source_sandbox_id: sb.id })).body.data.version;
		await waitVersion(org, dep.id, v1.id);
		await waitActive(org, dep.id, v1.id);
		await writeFiles(org, sb.id, { 'index.html': 'r2' });
		const v2 = (await publish(org, dep.id, { source_sandbox_id: sb.id })).body.data.version;
		await waitVersion(org, dep.id, v2.id);
		await waitActive(org, dep.id, v2.id);
		await writeFiles(org, sb.id, { 'index.html': 'r3' });
		const v3 = (await publish(org, dep.id, { source_sandbox_id: sb.id })).body.data.version;
		await waitVersion(org, dep.id, v3.id);
		await waitActive(org, dep.id, v3.id);
		// v1 is neither active nor the rollback target (v2 is): it can be archived.
		expectError(await call('POST', `/deployments/${dep.id}/versions/${v3.id}/archive`, { token: org.key }), 409, 'CONFLICT');
		const arch = await call('POST', `/deployments/${dep.id}/versions/${v1.id}/archive`, { token: org.key });
		expect(arch.status, arch.text).toBe(200);
		expect(arch.body.data.state).toBe('archived');
		// The test server keeps archived artifacts for 0 days and collects every second.
		await waitFor(async () => !(await call('GET', `/deployments/${dep.id}/versions/${v1.id}`, { token: org.key })).body.data.artifact_available, 15_000, 250);
		expectError(await call('POST', `/deployments/${dep.id}/rollback`, { token: org.key, body: { version_id: v1.id } }), 410, 'ARTIFACT_GONE');
		// The active version is untouched.
		const d = (await call('GET', `/deployments/${dep.id}`, { token: org.key })).body.data;
		expect((await app(d)).text).toBe('r3');
	});

	it('publishes a Node server: env frozen into the version, health-checked runtime, restarted when it dies', async () => {
		const node = await createSandbox(org, { name: 'api-src', timeout_sec: 1800 });
		await writeFiles(org, node.id, {
			'package.json': JSON.stringify({ name: 'api', version: '1.0.0', scripts: { start: 'node server.js' } }),
			'server.js': `require('http').createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ path: req.url, greeting: process.env.GREETING || null, port: process.env.PORT })); }).listen(process.env.PORT);`
		});
		const dep = await newDeployment(org, { name: 'Node API' });
		const envSet = await call('POST', `/deployments/${dep.id}/env`, { token: org.key, body: { env: { GREETING: 'hello' } } });
		expect(envSet.status, envSet.text).toBe(200);
		await call('POST', `/deployments/${dep.id}/env`, { token: org.key, body: { env: { API_SECRET: 'sk-very-secret' }, is_secret: true } });
		const envList = await call('GET', `/deployments/${dep.id}/env`, { token: org.key });
		expect(envList.text).not.toContain('sk-very-secret');
		expect(envList.body.data.find((e: any) => e.key === 'API_SECRET').value_preview).toBe('••••');

		const r = await call('POST', `/sandboxes/${node.id}/deploy`, { token: org.key, body: { deployment_id: dep.id }, headers: { 'idempotency-key': crypto.randomUUID() } });
		expect(r.status, r.text).toBe(202);
		const v = await waitVersion(org, dep.id, r.body.data.version.id);
		expect(v.state, JSON.stringify(v)).toBe('ready');
		expect(v.kind).toBe('dynamic');
		expect(v.runtime_command).toBe('npm start');
		expect(v.runtime_port).toBe(3000);
		expect(v.env_keys).toEqual(['API_SECRET', 'GREETING']);
		const d = await waitActive(org, dep.id, v.id);
		const res = await app(d, '/hello?x=1');
		expect(res.status, res.text).toBe(200);
		expect(JSON.parse(res.text)).toEqual({ path: '/hello?x=1', greeting: 'hello', port: '3000' });

		// Changing the env does not change the running version (frozen), only the next publish.
		await call('POST', `/deployments/${dep.id}/env`, { token: org.key, body: { env: { GREETING: 'changed' } } });
		expect(JSON.parse((await app(d)).text).greeting).toBe('hello');

		// Kill the app inside its runtime sandbox: the reconciler restarts it.
		const inst = (await call('GET', `/deployments/${dep.id}/runtime-instances`, { token: org.key })).body.data;
		expect(inst).toHaveLength(1);
		expect(inst[0].state).toBe('healthy');
		await exec(org, inst[0].sandbox_id, 'pkill -f "node server.js" || true');
		await waitFor(async () => {
			const i = (await call('GET', `/deployments/${dep.id}/runtime-instances`, { token: org.key })).body.data[0];
			return i?.restarts >= 1 && i.state === 'healthy';
		}, 30_000, 250);
		expect((await app(d)).status).toBe(200);

		// Destroy the runtime's sandbox by hand: the reconciler boots a replacement.
		const before = (await call('GET', `/deployments/${dep.id}/runtime-instances`, { token: org.key })).body.data[0];
		expect((await call('DELETE', `/sandboxes/${before.sandbox_id}`, { token: org.key })).status).toBe(200);
		const replaced = await waitFor(async () => {
			const list = (await call('GET', `/deployments/${dep.id}/runtime-instances`, { token: org.key })).body.data;
			return list.find((i: any) => i.id !== before.id && i.state === 'healthy');
		}, 30_000, 250);
		expect(replaced.sandbox_id).not.toBe(before.sandbox_id);
		expect(JSON.parse((await app(d)).text).greeting).toBe('hello');

		// v2 of the server, then a rollback under a request loop: the previous runtime is still warm.
		await writeFiles(org, node.id, { 'server.js': `require('http').createServer((req, res) => res.end('v2 server')).listen(process.env.PORT);` });
		const r2 = await call('POST', `/sandboxes/${node.id}/deploy`, { token: org.key, body: { deployment_id: dep.id } });
		const v2 = await waitVersion(org, dep.id, r2.body.data.version.id);
		expect(v2.state, JSON.stringify(v2)).toBe('ready');
		await waitActive(org, dep.id, v2.id);
		expect((await app(d)).text).toBe('v2 server');
		const seen: { status: number; text: string }[] = [];
		let stop = false;
		const loop = async () => {
			while (!stop) {
				const x = await app(d).catch(() => ({ status: 0, text: '' }));
				seen.push({ status: x.status, text: x.text });
			}
		};
		const loops = [loop(), loop(), loop()];
		await new Promise((r) => setTimeout(r, 300));
		const rb = await call('POST', `/deployments/${dep.id}/rollback`, { token: org.key, body: {} });
		expect(rb.status, rb.text).toBe(200);
		expect(rb.body.data.active_version_id).toBe(v.id);
		await new Promise((r) => setTimeout(r, 500));
		stop = true;
		await Promise.all(loops);
		expect(seen.filter((x) => x.status !== 200)).toHaveLength(0);
		expect(seen.some((x) => x.text === 'v2 server')).toBe(true);
		expect(JSON.parse(seen.at(-1)!.text).greeting).toBe('hello');
	});

	it('detects a build step and its output directory; environments get their own URL and promote to production', async () => {
		const src = await createSandbox(org, { name: 'built-src', timeout_sec: 1800 });
		await writeFiles(org, src.id, {
			'package.json': JSON.stringify({ name: 'site', scripts: { build: 'mkdir -p dist && sed "s/@V@/$SITE_VERSION/" src/index.html > dist/index.html' } }),
			'src/index.html': '<p>built @V@</p>'
		});
		const dep = await newDeployment(org, { name: 'Built' });
		await call('POST', `/deployments/${dep.id}/env`, { token: org.key, body: { env: { SITE_VERSION: 'staged' }, environment: 'staging' } });
		const r = await publish(org, dep.id, { source_sandbox_id: src.id, environment: 'staging' });
		expect(r.status, r.text).toBe(202);
		expect(r.body.data.url).toContain(`built--staging.`);

		// The build log streams over SSE until the build ends.
		const stream = await fetch(`${baseUrl()}/api/v1/deployments/${dep.id}/versions/${r.body.data.version.id}/logs/stream`, { headers: { authorization: `Bearer ${org.key}` } });
		expect(stream.headers.get('content-type')).toContain('text/event-stream');
		const frames = await readSse(stream, (f) => f.event === 'done', 60_000);
		const lines = frames.filter((f) => f.event === 'log').map((f) => f.data.line);
		expect(lines.some((l: string) => l.includes('build: npm run build'))).toBe(true);
		expect(frames.at(-1)).toMatchObject({ event: 'done', data: { state: 'ready' } });

		const v = await waitVersion(org, dep.id, r.body.data.version.id);
		expect(v).toMatchObject({ state: 'ready', kind: 'static', output_path: 'dist', build_command: 'npm run build', environment: 'staging' });
		const d = await waitFor(async () => {
			const g = (await call('GET', `/deployments/${dep.id}`, { token: org.key })).body.data;
			return g.environments.length ? g : null;
		});
		expect(d.active_version_id).toBeNull(); // production has nothing yet
		expect(d.environments).toEqual([expect.objectContaining({ name: 'staging', active_version_id: v.id })]);
		const staging = await hreq({ path: '/', host: `built--staging.${d.auto_subdomain.split('.')[1]}.apps.localhost:${port()}` });
		expect(staging.text).toContain('built staged');
		const prodBefore = await app(d);
		expect(prodBefore.status).toBe(503);
		expect(prodBefore.headers['x-hangar-preview-error']).toBe('NOT_PUBLISHED');

		const promoted = await call('POST', `/deployments/${dep.id}/versions/${v.id}/promote`, { token: org.key, body: {}, headers: { 'idempotency-key': crypto.randomUUID() } });
		expect(promoted.status, promoted.text).toBe(200);
		expect(promoted.body.data.active_version_id).toBe(v.id);
		expect((await app(promoted.body.data)).text).toContain('built staged');
		expect((await app(promoted.body.data, '/some/client/route')).status).toBe(404);

		// A single-page app: unknown paths answer index.html (set on the deployment, frozen per version).
		const patched = await call('PATCH', `/deployments/${dep.id}`, { token: org.key, body: { spa: true } });
		expect(patched.body.data.config.spa).toBe(true);
		const v2 = (await publish(org, dep.id, { source_sandbox_id: src.id })).body.data.version;
		expect((await waitVersion(org, dep.id, v2.id)).config.spa).toBe(true);
		await waitActive(org, dep.id, v2.id);
		const route = await app(promoted.body.data, '/some/client/route');
		expect(route.status).toBe(200);
		expect(route.text).toContain('<p>built');
	});

	it('validates input and keeps other organizations out', async () => {
		const dep = await newDeployment(org, { name: 'Private' });
		const missing = await call('POST', `/deployments/${dep.id}/publish`, { token: org.key, body: {} });
		expect(missing.status).toBe(422);
		expect(missing.body.error.code).toBe('VALIDATION_ERROR');
		const badSlug = await call('POST', '/deployments', { token: org.key, body: { name: 'x', slug: 'Bad--Slug' } });
		expect(badSlug.status).toBe(422);
		const badEnv = await call('POST', `/deployments/${dep.id}/env`, { token: org.key, body: { env: { '1BAD': 'x' } } });
		expect(badEnv.status).toBe(422);
		const dup = await call('POST', '/deployments', { token: org.key, body: { name: 'Private', slug: dep.slug } });
		expectError(dup, 409, 'CONFLICT');

		const other = await newOrg();
		expectError(await call('GET', `/deployments/${dep.id}`, { token: other.key }), 404, 'NOT_FOUND');
		expectError(await call('GET', `/deployments/${dep.id}/versions`, { token: other.key }), 404, 'NOT_FOUND');
		const otherDep = await newDeployment(other, { name: 'Theirs' });
		// Publishing someone else's sandbox: not found.
		expectError(await publish(other, otherDep.id, { source_sandbox_id: sb.id }), 404, 'NOT_FOUND');
		// An unknown deployment URL answers a page, not someone else's site.
		expect((await hreq({ path: '/', host: `nope.${otherDep.auto_subdomain.split('.')[1]}.apps.localhost:${port()}` })).status).toBe(404);
	});
});

describe('deployments across a control-plane crash', () => {
	it('a build interrupted by the crash fails (not stuck building); a dynamic deployment keeps serving after the restart', async () => {
		const env = { HANGAR_LOCAL_AGENT: '0' };
		const dbKind = inject('dbKind') as 'pglite' | 'postgres';
		const first = await startServer({ db: dbKind, env });
		let second: TestServer | null = null;
		let agent: TestAgent | null = null;
		let base = first.baseUrl;
		const req = apiAt(() => base);
		const get = (host: string) => hreq({ path: '/', host, base }).catch(() => ({ status: 0, text: '' }));
		try {
			const su = await req('POST', '/auth/signup', { body: { email: `dep-crash-${Date.now()}@example.test`, password: 'correct horse battery', name: 'Dep', organization_name: 'Dep crash' } });
			expect(su.status, su.text).toBe(201);
			const token = su.body.data.token;
			const h = await req('POST', '/hosts', { token, body: { name: 'dep-crash-host', shared: true } });
			expect(h.status, h.text).toBe(201);
			// A separate agent process: sandboxes and runtimes outlive the control plane.
			agent = startAgent({ baseUrl: first.baseUrl, key: h.body.data.key, name: 'dep-crash-host' });
			await waitFor(async () => ((await req('GET', '/health')).body?.hosts_online ?? 0) > 0, 60_000, 200);
			const sbx = await req('POST', '/sandboxes', { token, body: { template_id: 'host-minimal', timeout_sec: 1800 } });
			expect(sbx.status, sbx.text).toBe(201);
			const sbId = sbx.body.data.id;
			const w = await req('POST', `/sandboxes/${sbId}/files/write-many`, {
				token,
				body: {
					files: [
						{ path: '/workspace/package.json', content: JSON.stringify({ name: 'x', scripts: { start: 'node server.js' } }), encoding: 'utf8' },
						{ path: '/workspace/server.js', content: "require('http').createServer((q, s) => s.end('survivor')).listen(process.env.PORT)", encoding: 'utf8' }
					]
				}
			});
			expect(w.status, w.text).toBe(200);
			const dyn = await req('POST', `/sandboxes/${sbId}/deploy`, { token, body: { name: 'survivor', wait: 120 } });
			expect(dyn.status, dyn.text).toBe(200);
			expect(dyn.body.data.version.state).toBe('ready');
			const host = `${dyn.body.data.deployment.auto_subdomain}:${first.port}`;
			await waitFor(async () => (await get(host)).text === 'survivor', 20_000, 100);

			// A second deployment whose build is still running when the control plane dies.
			const slow = await req('POST', `/sandboxes/${sbId}/deploy`, { token, body: { name: 'slow', build_command: 'sleep 120', run_command: 'node server.js', port: 3000 } });
			expect(slow.status, slow.text).toBe(202);
			const depId = slow.body.data.deployment.id;
			const verId = slow.body.data.version.id;
			await waitFor(async () => (await req('GET', `/deployments/${depId}/versions/${verId}/logs`, { token })).body.data.log.includes('build: sleep 120'), 30_000, 200);
			const builderId = (await req('GET', `/deployments/${depId}/versions/${verId}`, { token })).body.data.builder_sandbox_id;
			expect(builderId).toBeTruthy();

			first.proc.kill('SIGKILL');
			await new Promise((r) => (first.proc.exitCode !== null || first.proc.signalCode !== null ? r(null) : first.proc.once('exit', r)));
			second = await startServer({ db: dbKind, env, dataDir: first.dataDir, databaseUrl: first.databaseUrl ?? undefined, port: first.port });
			base = second.baseUrl;
			await waitFor(async () => ((await req('GET', '/health')).body?.hosts_online ?? 0) > 0, 60_000, 200);

			const failed = await waitFor(async () => {
				const v = (await req('GET', `/deployments/${depId}/versions/${verId}`, { token })).body.data;
				return v.state === 'failed' ? v : null;
			}, 20_000, 250);
			expect(failed.error).toContain('interrupted');
			const dep = (await req('GET', `/deployments/${depId}`, { token })).body.data;
			expect(dep.state).toBe('failed');
			await waitFor(async () => (await req('GET', `/sandboxes/${builderId}`, { token })).body.data.state === 'destroyed', 30_000, 250);
			// The runtime survived on its agent: the URL answers through the new process.
			await waitFor(async () => (await get(host)).text === 'survivor', 30_000, 200);
		} finally {
			await agent?.kill();
			if (second) await second.stop();
			await first.stop();
		}
	}, 240_000);
});
