import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { startAgent } from '../support/agent';
import { baseUrl, call, createSandbox, exec, expectError, newOrg, waitFor } from './helpers';

const hostOf = async (token: string, id: string) => (await call('GET', `/hosts/${id}`, { token })).body.data;

function processesMatching(text: string): number[] {
	const out: number[] = [];
	for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
		try {
			if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) out.push(Number(pid));
		} catch {
			// gone
		}
	}
	return out;
}

describe('hosts, placement and reconciliation', () => {
	it('lists the local host with capacity and drivers', async () => {
		const org = await newOrg();
		const r = await call('GET', '/hosts', { token: org.key });
		const local = r.body.data.find((h: any) => h.local);
		expect(local).toMatchObject({ status: 'online', shared: true });
		expect(local.drivers).toContain('bwrap');
		expect(local.capacity.cpus).toBeGreaterThan(0);
		expect(local.capacity.memory_mb).toBeGreaterThan(0);
		expect(local.last_seen_at).toBeTruthy();
		expect((await call('GET', '/health')).body.hosts_online).toBeGreaterThanOrEqual(1);
	});

	it('places by region and labels on a second agent, drains it, and marks it offline', async () => {
		const org = await newOrg();
		const region = `eu-test-${Math.random().toString(36).slice(2, 6)}`;
		const created = await call('POST', '/hosts', { token: org.token, body: { name: 'second', region, labels: { tier: 'gold' } } });
		expect(created.status, created.text).toBe(201);
		expect(created.body.data.key).toMatch(/^hk_/);
		const hostId = created.body.data.id;
		// Another organization cannot see or use this host.
		const other = await newOrg();
		expectError(await call('GET', `/hosts/${hostId}`, { token: other.key }), 404, 'NOT_FOUND');
		const agent = startAgent({ baseUrl: baseUrl(), key: created.body.data.key, name: 'second', region, labels: { tier: 'gold' } });
		try {
			await waitFor(async () => (await hostOf(org.key, hostId)).status === 'online', 30_000);
			const s = await createSandbox(org, { region });
			expect(s.host_id).toBe(hostId);
			expect(s.region).toBe(region);
			expect((await exec(org, s.id, 'echo second-host')).stdout).toBe('second-host\n');
			const gold = await createSandbox(org, { labels: { tier: 'gold' } });
			expect(gold.host_id).toBe(hostId);
			expectError(await call('POST', '/sandboxes', { token: other.key, body: { template_id: 'host-minimal', region } }), 400, 'invalid_region');

			const drained = await call('POST', `/hosts/${hostId}/drain`, { token: org.token });
			expect(drained.body.data.status).toBe('draining');
			expectError(await call('POST', '/sandboxes', { token: org.key, body: { template_id: 'host-minimal', region } }), 409, 'region_unavailable');
			// Existing sandboxes keep running on a draining host.
			expect((await exec(org, s.id, 'echo still')).stdout).toBe('still\n');
			await call('POST', `/hosts/${hostId}/undrain`, { token: org.token });
			await call('DELETE', `/sandboxes/${gold.id}`, { token: org.key });

			await agent.kill('SIGTERM');
			await waitFor(async () => (await hostOf(org.key, hostId)).status === 'offline', 15_000);
			expectError(await call('POST', `/sandboxes/${s.id}/exec`, { token: org.key, body: { command: 'true' } }), 502, 'AGENT_UNAVAILABLE');
			expect(processesMatching(s.id)).toEqual([]);
			await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
		} finally {
			await agent.kill('SIGKILL');
			fs.rmSync(agent.dataDir, { recursive: true, force: true });
		}
	});

	it('reconciles after the local agent is killed: lost sandboxes become error, nothing leaks', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const marker = `hangar-marker-${s.id}`;
		await exec(org, s.id, `nohup bash -c 'exec -a ${marker} sleep 1000' >/dev/null 2>&1 &`);
		await waitFor(async () => processesMatching(marker).length > 0, 5000);
		const serverPid = inject('serverPid');
		const agentPid = execFileSync('pgrep', ['-P', String(serverPid), '-f', 'agent.mjs']).toString().trim().split('\n').map(Number)[0];
		expect(agentPid).toBeGreaterThan(0);
		process.kill(agentPid, 'SIGKILL');
		// The server restarts its local agent; the agent reports no sandboxes; the row becomes error.
		const lost = await waitFor(async () => {
			const r = await call('GET', `/sandboxes/${s.id}`, { token: org.key });
			return r.body.data.state === 'error' ? r.body.data : null;
		}, 30_000);
		expect(lost.last_error).toMatch(/lost|offline/);
		await waitFor(async () => processesMatching(marker).length === 0, 10_000);
		// The host is back and takes new work.
		const fresh = await waitFor(async () => {
			const r = await call('POST', '/sandboxes', { token: org.key, body: { template_id: 'host-minimal' } });
			return r.status === 201 ? r.body.data : null;
		}, 30_000);
		expect((await exec(org, fresh.id, 'echo alive')).stdout).toBe('alive\n');
		expect((await call('DELETE', `/sandboxes/${s.id}`, { token: org.key })).body.data.state).toBe('destroyed');
		await call('DELETE', `/sandboxes/${fresh.id}`, { token: org.key });
	});
});

describe('isolation seen through the API', () => {
	it('cannot read host secrets, see host processes, or reach the control plane', async () => {
		const org = await newOrg();
		const s = await createSandbox(org);
		const shadow = await exec(org, s.id, 'cat /etc/shadow');
		expect(shadow.exit_code).not.toBe(0);
		expect((await exec(org, s.id, 'ls /root 2>&1; echo rc=$?')).stdout).toMatch(/rc=[12]/);
		const ps = await exec(org, s.id, 'ls /proc | grep -E "^[0-9]+$" | wc -l');
		expect(Number(ps.stdout)).toBeLessThan(20);
		const port = new URL(baseUrl()).port;
		const cp = await exec(org, s.id, `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo reached || echo blocked`, { shell: 'bash', timeout: 10 });
		expect(cp.stdout.trim()).toBe('blocked');
		const gw = await exec(org, s.id, `timeout 3 bash -c '(exec 3<>/dev/tcp/10.0.2.2/${port})' 2>/dev/null && echo reached || echo blocked`, { shell: 'bash', timeout: 10 });
		expect(gw.stdout.trim()).toBe('blocked');
		const write = await exec(org, s.id, 'touch /usr/evil 2>&1; echo rc=$?');
		expect(write.stdout).toMatch(/rc=1/);
		await call('DELETE', `/sandboxes/${s.id}`, { token: org.key });
	});
});
