/**
 * Opt-in measurement (HANGAR_MEASURE=1 npx vitest run --project agent agent/test/measure.test.ts):
 * agent-level create→first exec (warm and cold), exec round trip, idle sandbox PSS.
 * Prints one JSON line; asserts nothing about timings.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, test } from 'vitest';
import type { Agent } from '../main';
import { HOST_ID, SIZE, cleanupDir, sid, startControlPlane, startTestAgent, tempDir, type TestControlPlane } from './harness';

const enabled = process.env.HANGAR_MEASURE === '1';
let cp: TestControlPlane;
let agent: Agent;
let dir: string;

beforeAll(async () => {
	if (!enabled) return;
	dir = tempDir('measure');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir, poolSize: 1 });
});
afterAll(async () => {
	if (!enabled) return;
	await agent.stop();
	await cp.close();
	await cleanupDir(dir);
});

const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return Math.round(s[Math.floor(s.length / 2)] * 100) / 100;
};
const pss = (pid: number) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);

test.skipIf(!enabled)('measure', async () => {
	const N = 15;
	const run = async (warm: boolean) => {
		const times: number[] = [];
		const boots: number[] = [];
		await agent.pool.resize(warm ? 1 : 0);
		for (let i = 0; i < N; i++) {
			await agent.pool.settle();
			const id = sid('m');
			const t0 = performance.now();
			const r = await cp.hub.call(HOST_ID, 'sandbox.create', { id, template: 'host-minimal', size: SIZE });
			await cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: id, command: 'true' });
			times.push(performance.now() - t0);
			boots.push(r.boot_ms);
			if (r.boot_path !== (warm ? 'warm' : 'cold')) throw new Error(`expected ${warm ? 'warm' : 'cold'}`);
			await cp.hub.call(HOST_ID, 'sandbox.destroy', { id });
		}
		return { create_to_first_exec_ms: median(times), boot_ms: median(boots) };
	};
	const cold = await run(false);
	const warm = await run(true);
	const id = sid('m');
	await cp.hub.call(HOST_ID, 'sandbox.create', { id, template: 'host-minimal', size: SIZE });
	const rtt: number[] = [];
	for (let i = 0; i < 40; i++) {
		const t0 = performance.now();
		await cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: id, command: 'true' });
		rtt.push(performance.now() - t0);
	}
	const netId = sid('mn');
	await cp.hub.call(HOST_ID, 'sandbox.create', { id: netId, template: 'host-minimal', size: SIZE, network: true });
	await new Promise((r) => setTimeout(r, 500));
	const idle = async (sandboxId: string) => {
		const pids = await agent.manager.get(sandboxId).cg.pids();
		return { processes: pids.length, pss_kb: pids.reduce((a, p) => a + pss(p), 0) };
	};
	const out = {
		cold,
		warm,
		exec_round_trip_ms: median(rtt),
		idle_sandbox: await idle(id),
		idle_sandbox_with_network: await idle(netId)
	};
	console.log('MEASURE ' + JSON.stringify(out));
	await cp.hub.call(HOST_ID, 'sandbox.destroy', { id });
	await cp.hub.call(HOST_ID, 'sandbox.destroy', { id: netId });
}, 120_000);
