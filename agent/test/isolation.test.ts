/**
 * Isolation: things a sandbox must not be able to do. Network tests only ever dial 127.0.0.1 on
 * the host and 10.0.2.2 (slirp's alias for the host) — the egress rules reject them inside the
 * sandbox's own netns, so no packet leaves the machine.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Agent } from '../main';
import { HOST_ID, cleanupDir, sid, startControlPlane, startTestAgent, tempDir, waitFor, type TestControlPlane } from './harness';

let cp: TestControlPlane;
let agent: Agent;
let dir: string;
let id: string;
let listener: net.Server;
let listenerPort: number;
let listenerHits = 0;

beforeAll(async () => {
	dir = tempDir('isolation');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir, poolSize: 0 });
	id = sid('iso');
	await cp.hub.call(HOST_ID, 'sandbox.create', {
		id,
		template: 'host-minimal',
		size: { cpus: 1, memory_mb: 128, pids_max: 128 },
		network: true
	});
	// A host service on loopback, like the control plane or a database.
	listener = net.createServer((s) => {
		listenerHits++;
		s.end('secret\n');
	});
	await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
	listenerPort = (listener.address() as net.AddressInfo).port;
});

afterAll(async () => {
	await agent?.stop();
	await cp?.close();
	listener?.close();
	if (dir) await cleanupDir(dir);
});

const sh = (command: string, extra: Record<string, unknown> = {}, sandbox_id = id) =>
	cp.hub.call(HOST_ID, 'exec.run', { sandbox_id, command, timeout_ms: 20_000, ...extra });

describe('filesystem', () => {
	test('host files are not visible', async () => {
		const r = await sh(
			`cat /etc/shadow 2>&1; ls -A /root 2>&1; ls ${dir} 2>&1; cat /etc/passwd; ls /home; ls / | tr '\\n' ' '`
		);
		expect(r.stdout).toMatch(/\/etc\/shadow: No such file/);
		expect(r.stdout).toMatch(/\/root.*Permission denied|^$/m);
		expect(r.stdout).toContain(`ls: cannot access '${dir}': No such file or directory`);
		// our generated passwd, not the host's
		expect(r.stdout).toContain('user:x:1000:1000:user:/home/user:/bin/bash');
		expect(r.stdout.match(/^[^:\n]+:x:/gm)?.length).toBe(3);
		expect(r.stdout).not.toContain('/work');
	});

	test('writes outside the writable layer fail', async () => {
		const r = await sh(
			'for p in /usr/evil /etc/evil /evil /bin/evil /var/evil /root/evil /home/evil; do (echo x > $p) 2>/dev/null && echo "WROTE $p"; done; echo done'
		);
		expect(r.stdout).toBe('done\n');
		expect((await sh('touch /workspace/ok /tmp/ok /home/user/ok && echo ok')).stdout).toBe('ok\n');
	});

	test('the upper layer is per sandbox', async () => {
		const other = sid('iso2');
		await cp.hub.call(HOST_ID, 'sandbox.create', { id: other, template: 'host-minimal', size: { cpus: 1, memory_mb: 128 } });
		await sh('echo mine > /workspace/private && echo t > /tmp/private');
		expect((await sh('cat /workspace/private /tmp/private 2>&1; true', {}, other)).stdout).toMatch(/No such file/);
		await cp.hub.call(HOST_ID, 'sandbox.destroy', { id: other });
	});
});

describe('processes', () => {
	test('only sandbox processes are visible', async () => {
		const r = await sh('ps -eo pid,comm --no-headers');
		const comms = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[1]);
		expect(comms).toEqual(expect.arrayContaining(['.hangar-init', 'sh', 'ps']));
		expect(comms.length).toBeLessThanOrEqual(5);
		expect(r.stdout).not.toMatch(/node|vitest|bwrap|slirp/);
		expect(r.stdout).toMatch(/^\s*1 \.hangar-init/m);
	});

	test('sandbox processes run as an unprivileged host uid, with no capabilities', async () => {
		const p = await cp.hub.call(HOST_ID, 'process.start', { sandbox_id: id, command: 'sleep 1000' });
		const hostPid = await waitFor(async () => {
			for (const hp of await agent.manager.get(id).cg.pids()) {
				const st = readFileSync(`/proc/${hp}/status`, 'utf8');
				if (/^Name:\s+sleep/m.test(st) && /^NSpid:\s+\d+\s+\d+$/m.test(st)) return hp;
			}
			return 0;
		}, 5000, 'sleep in the sandbox');
		const st = readFileSync(`/proc/${hostPid}/status`, 'utf8');
		const uids = /^Uid:\s+(.*)$/m.exec(st)![1].split(/\s+/).map(Number);
		expect(uids.every((u) => u === agent.manager.get(id).hostUid)).toBe(true);
		expect(uids[0]).toBeGreaterThanOrEqual(100000);
		expect(/^CapEff:\s+(\w+)/m.exec(st)![1]).toBe('0000000000000000');
		expect(/^CapBnd:\s+(\w+)/m.exec(st)![1]).toBe('0000000000000000');
		expect(/^NoNewPrivs:\s+(\d)/m.exec(st)![1]).toBe('1');
		// the sandbox's bwrap and init too
		for (const hp of [agent.manager.get(id).inst.outerPid, agent.manager.get(id).inst.initPid]) {
			expect(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${hp}/status`, 'utf8'))![1])).toBe(agent.manager.get(id).hostUid);
		}
		await cp.hub.call(HOST_ID, 'process.stop', { sandbox_id: id, pid: p.pid, grace_ms: 100 });
	});

	test('kill -9 -1 inside does not take the sandbox down', async () => {
		await sh('kill -9 -1; true');
		expect((await sh('echo alive')).stdout).toBe('alive\n');
	});
});

describe('network', () => {
	test('network: true has a tap device but cannot reach the host', async () => {
		const r = await sh('ip -br link | cut -d" " -f1 | sort | tr "\\n" " "; ip route | head -1');
		expect(r.stdout).toMatch(/^lo tap0 default via 10\.0\.2\.2/);
		const tryConnect = (host: string) =>
			sh(
				`python3 -c "import socket; s=socket.socket(); s.settimeout(3); s.connect(('${host}', ${listenerPort})); print('CONNECTED', s.recv(10))" 2>&1 | tail -1`
			);
		const viaGateway = await tryConnect('10.0.2.2');
		expect(viaGateway.stdout).not.toContain('CONNECTED');
		expect(viaGateway.stdout).toMatch(/refused|unreachable|timed out/i);
		const viaLoopback = await tryConnect('127.0.0.1');
		expect(viaLoopback.stdout).toMatch(/refused/i);
		// slirp's DNS forwarder address is allowed only on port 53
		const dnsOther = await sh(
			`python3 -c "import socket; s=socket.socket(); s.settimeout(3); s.connect(('10.0.2.3', 80))" 2>&1 | tail -1`
		);
		expect(dnsOther.stdout).toMatch(/refused|unreachable/i);
		expect(listenerHits).toBe(0);
	});

	test('network: false has only lo', async () => {
		const other = sid('nonet');
		await cp.hub.call(HOST_ID, 'sandbox.create', { id: other, template: 'host-minimal', size: { cpus: 1, memory_mb: 128 } });
		const r = await sh('ip -br link | cut -d" " -f1', {}, other);
		expect(r.stdout).toBe('lo\n');
		const c = await sh(
			`python3 -c "import socket; s=socket.socket(); s.settimeout(3); s.connect(('127.0.0.1', ${listenerPort}))" 2>&1 | tail -1`,
			{},
			other
		);
		expect(c.stdout).toMatch(/refused/i);
		expect(listenerHits).toBe(0);
		await cp.hub.call(HOST_ID, 'sandbox.destroy', { id: other });
	});
});

describe('limits', () => {
	test('exceeding the memory limit kills the process, not the sandbox', async () => {
		const r = await sh(`python3 -c "x = bytearray(400 * 1024 * 1024); print('allocated')"`);
		expect(r.stdout).not.toContain('allocated');
		expect(r.exit_code).not.toBe(0);
		expect((await sh('echo alive')).stdout).toBe('alive\n');
	});

	test('a fork bomb hits the pids limit; the sandbox stays usable and destroyable', async () => {
		const bomb = sid('bomb');
		await cp.hub.call(HOST_ID, 'sandbox.create', { id: bomb, template: 'host-minimal', size: { cpus: 1, memory_mb: 256, pids_max: 64 } });
		const r = await sh('bomb() { bomb | bomb & }; bomb; sleep 2; echo survived', { timeout_ms: 3000 }, bomb);
		expect(r.timed_out || r.exit_code !== 0 || r.stdout.includes('survived')).toBe(true);
		const stats = await cp.hub.call(HOST_ID, 'sandbox.stats', { id: bomb });
		expect(stats.pids).toBeLessThanOrEqual(64);
		// usable again once the bomb's group is gone
		let ok = '';
		for (let i = 0; i < 20 && ok !== 'ok\n'; i++) {
			ok = (await sh('echo ok', { timeout_ms: 5000 }, bomb).catch(() => ({ stdout: '' }))).stdout;
			if (ok !== 'ok\n') await new Promise((res) => setTimeout(res, 200));
		}
		expect(ok).toBe('ok\n');
		const sb = agent.manager.get(bomb);
		await cp.hub.call(HOST_ID, 'sandbox.destroy', { id: bomb });
		expect(await sb.cg.pids()).toEqual([]);
		// the host is fine
		expect((await sh('echo alive')).stdout).toBe('alive\n');
	}, 60_000);
});
