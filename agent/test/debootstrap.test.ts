/**
 * Opt-in (HANGAR_TEST_DEBOOTSTRAP=1; ~1-3 min and ~600 MB, needs a Debian mirror): build the
 * 'python' template with debootstrap, then run a sandbox from it. Uses HANGAR_TEST_TEMPLATE_DIR
 * as the cache when set, so a second run doesn't rebuild.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { TemplateProgressEvent } from '../../src/lib/protocol/index';
import type { Agent } from '../main';
import { HOST_ID, SIZE, cleanupDir, sid, startControlPlane, startTestAgent, tempDir, type TestControlPlane } from './harness';

const enabled = process.env.HANGAR_TEST_DEBOOTSTRAP === '1';
let cp: TestControlPlane;
let agent: Agent;
let dir: string;

beforeAll(async () => {
	if (!enabled) return;
	dir = tempDir('debootstrap');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir, poolSize: 0 });
});
afterAll(async () => {
	if (!enabled) return;
	await agent.stop();
	await cp.close();
	await cleanupDir(dir);
});

test.skipIf(!enabled)('build the python template, then use it', async () => {
	const id = sid('py');
	const first = await cp.hub.call(HOST_ID, 'sandbox.create', { id, template: 'python', size: SIZE }).catch((e) => e);
	const alreadyBuilt = !(first instanceof Error);
	if (!alreadyBuilt) {
		expect(first).toMatchObject({ code: 'TEMPLATE_NOT_READY' });
		const progress: TemplateProgressEvent[] = [];
		const r = await cp.hub.call(HOST_ID, 'template.ensure', { id: 'python', wait: true }, { onProgress: (p) => progress.push(p) });
		expect(r.status).toBe('ready');
		expect(progress.length).toBeGreaterThan(10);
		expect(cp.events.some((e) => e.name === 'template.ready')).toBe(true);
		await cp.hub.call(HOST_ID, 'sandbox.create', { id, template: 'python', size: SIZE });
	}
	const r = await cp.hub.call(HOST_ID, 'exec.run', {
		sandbox_id: id,
		command: 'python3 -c "print(6*7)"; id -un; cat /etc/debian_version; python3 -m venv /tmp/v && echo venv-ok'
	});
	expect(r.stdout).toMatch(/^42\nuser\n12\.\d+\nvenv-ok\n$/);
	// a second ensure never rebuilds
	const t0 = Date.now();
	expect((await cp.hub.call(HOST_ID, 'template.ensure', { id: 'python', wait: true })).status).toBe('ready');
	expect(Date.now() - t0).toBeLessThan(1000);
	await cp.hub.call(HOST_ID, 'sandbox.destroy', { id });
}, 900_000);
