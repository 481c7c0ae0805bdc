// Benchmarks through the real API with the real agent (PGlite, host-minimal template).
// Reports medians and p95/p99 beside the floor: starting bwrap alone.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const N = Number(process.env.BENCH_N ?? 40);

const pct = (xs, p) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const stats = (xs) => ({ n: xs.length, p50: +pct(xs, 50).toFixed(1), p95: +pct(xs, 95).toFixed(1), p99: +pct(xs, 99).toFixed(1) });

async function freePort() {
	return new Promise((resolve) => {
		const s = net.createServer();
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

function floor() {
	const times = [];
	for (let i = 0; i < 30; i++) {
		const t = performance.now();
		const r = spawnSync('bwrap', ['--unshare-all', '--die-with-parent', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--proc', '/proc', '--dev', '/dev', '/bin/true']);
		if (r.status !== 0) throw new Error(`bwrap failed: ${r.stderr}`);
		times.push(performance.now() - t);
	}
	return stats(times);
}

async function main() {
	const port = await freePort();
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-bench-'));
	const server = spawn(process.execPath, ['server.js'], {
		cwd: root,
		env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', HANGAR_DATA_DIR: dataDir, DATABASE_URL: '', HANGAR_LOCAL_AGENT: '1', HANGAR_DEFAULT_TEMPLATE: 'host-minimal', HANGAR_POOL_SIZE: process.env.HANGAR_POOL_SIZE ?? '4', HANGAR_RATE_LIMIT_EXEC_RPM: '100000', HANGAR_RATE_LIMIT_IP_RPM: '100000' },
		stdio: ['ignore', 'ignore', 'inherit']
	});
	const base = `http://127.0.0.1:${port}/api/v1`;
	try {
		for (let i = 0; ; i++) {
			try {
				const h = await (await fetch(`${base}/health`)).json();
				if (h.hosts_online > 0) break;
			} catch {}
			if (i > 600) throw new Error('server did not start');
			await new Promise((r) => setTimeout(r, 100));
		}
		const post = async (p, body, token) => {
			const r = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
			const j = await r.json();
			if (!r.ok) throw new Error(`${p}: ${r.status} ${JSON.stringify(j)}`);
			return j;
		};
		const del = (p, token) => fetch(base + p, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
		const su = await post('/auth/signup', { email: `bench${Date.now()}@example.test`, password: 'benchmark-password' });
		const key = (await post('/api-keys', { name: 'bench', rate_limit_rpm: 100000 }, su.data.token)).data.key;
		const settle = () => new Promise((r) => setTimeout(r, 1500)); // let the warm pool refill

		async function createExec() {
			const t = performance.now();
			const s = (await post('/sandboxes', { template_id: 'host-minimal' }, key)).data;
			await post(`/sandboxes/${s.id}/exec`, { command: 'echo hi' }, key);
			const ms = performance.now() - t;
			return { ms, id: s.id, path: s.boot_path };
		}
		async function fused() {
			const t = performance.now();
			const r = await post('/sandboxes/run', { template_id: 'host-minimal', command: 'echo hi' }, key);
			return { ms: performance.now() - t, id: r.data.sandbox.id, path: r.data.sandbox.boot_path };
		}
		async function series(fn, n, conc) {
			const out = [];
			let next = 0;
			const t0 = performance.now();
			await Promise.all(
				Array.from({ length: conc }, async () => {
					while (next < n) {
						next++;
						out.push(await fn());
					}
				})
			);
			const wall = performance.now() - t0;
			await Promise.all(out.map((o) => del(`/sandboxes/${o.id}`, key)));
			return { ...stats(out.map((o) => o.ms)), warm: out.filter((o) => o.path === 'warm').length, per_sec: +(n / (wall / 1000)).toFixed(1) };
		}

		const results = { date: new Date().toISOString(), host: { cpus: os.cpus().length, node: process.version }, floor_bwrap_ms: floor() };
		// BENCH_ONLY=deployments (comma list of sandboxes, computers, snapshots, deployments) runs a subset.
		const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
		const want = (s) => !only || only.has(s);
		if (want('sandboxes')) {
		await settle();
		results.create_exec_c1 = await series(createExec, N, 1);
		await settle();
		results.create_exec_c10 = await series(createExec, N, 10);
		await settle();
		results.run_c1 = await series(fused, N, 1);
		await settle();
		results.run_c10 = await series(fused, N, 10);

		const s = (await post('/sandboxes', { template_id: 'host-minimal' }, key)).data;
		const rt = [];
		for (let i = 0; i < 100; i++) {
			const t = performance.now();
			await post(`/sandboxes/${s.id}/exec`, { command: 'true' }, key);
			rt.push(performance.now() - t);
		}
		results.exec_roundtrip = stats(rt);
		await del(`/sandboxes/${s.id}`, key);

		// Memory per idle sandbox: PSS of every process in each sandbox's cgroup (with network the
		// slirp4netns helper is one more process; warm-pool sandboxes have none).
		await settle();
		const idle = [];
		for (let i = 0; i < 10; i++) idle.push((await post('/sandboxes', { template_id: 'host-minimal', network: true }, key)).data.id);
		await new Promise((r) => setTimeout(r, 1500));
		const mem = sandboxMemory();
		const withNet = mem.filter((m) => m.procs >= 3).map((m) => m.kib);
		const noNet = mem.filter((m) => m.procs < 3).map((m) => m.kib);
		results.idle_sandbox_pss_kib = withNet.length ? stats(withNet) : 'no sandbox cgroups found';
		results.idle_sandbox_no_network_pss_kib = noNet.length ? stats(noNet) : null;
		await Promise.all(idle.map((id) => del(`/sandboxes/${id}`, key)));
		}

		// Computers (desktop-host template; only when the host has the desktop packages).
		if (want('computers') && spawnSync('sh', ['-c', 'command -v Xvnc && command -v xfwm4 && command -v xdotool && command -v import'], { stdio: 'ignore' }).status === 0) {
			const t0 = performance.now();
			const c = await post('/computers', { name: 'bench', resolution: { width: 1280, height: 800 } }, key);
			results.computer_create_ms = +(performance.now() - t0).toFixed(1);
			const shots = [];
			const clicks = [];
			for (let i = 0; i < N; i++) {
				let t = performance.now();
				const r = await fetch(`${base}/computers/${c.id}/desktop/screenshot`, { headers: { authorization: `Bearer ${key}` } });
				await r.arrayBuffer();
				shots.push(performance.now() - t);
				t = performance.now();
				await post(`/computers/${c.id}/desktop/click`, { x: 600 + (i % 50), y: 600 }, key);
				clicks.push(performance.now() - t);
			}
			results.computer_screenshot = stats(shots);
			results.computer_click = stats(clicks);
			await del(`/computers/${c.id}`, key);
		}

		// Snapshots: capture time, freeze time and size vs the writable layer's size (1 MiB files of
		// random data); an unchanged second snapshot (dedup); restore and fork → first command.
		await settle();
		const get = async (p) => (await (await fetch(base + p, { headers: { authorization: `Bearer ${key}` } })).json());
		const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
		const takeSnapshot = async (id, comment) => {
			const t = performance.now();
			let snap = (await post(`/sandboxes/${id}/snapshots`, { comment }, key)).data;
			while (snap.status === 'creating') {
				await sleep(25);
				snap = (await get(`/sandboxes/${id}/snapshots/${snap.id}`)).data;
			}
			const ms = performance.now() - t;
			const ev = (await get(`/events?types=sandbox.snapshot.ready&resource_id=${id}&limit=500`)).data.find((e) => (e.data?.snapshot_id ?? e.snapshot_id) === snap.id);
			const d = ev?.data ?? ev ?? {};
			return { snap, ms, freeze_ms: d.freeze_ms, stored_bytes: d.stored_bytes };
		};
		results.snapshots = [];
		for (const mb of want('snapshots') ? (process.env.BENCH_SNAPSHOT_MB ?? '1,10,100').split(',').map(Number) : []) {
			const s = (await post('/sandboxes', { template_id: 'host-minimal', timeout_sec: 1800 }, key)).data;
			await post(`/sandboxes/${s.id}/exec`, { command: `mkdir -p /workspace/data && for i in $(seq 1 ${mb}); do head -c 1048576 /dev/urandom > /workspace/data/f$i; done`, timeout: 600 }, key);
			const first = await takeSnapshot(s.id, `${mb} MiB`);
			const second = await takeSnapshot(s.id, `${mb} MiB again`);
			let t = performance.now();
			const restored = (await post(`/sandboxes/${s.id}/restore/${first.snap.id}`, {}, key)).data;
			await post(`/sandboxes/${restored.id}/exec`, { command: 'true' }, key);
			const restoreMs = performance.now() - t;
			t = performance.now();
			const forked = (await post(`/sandboxes/${s.id}/fork`, {}, key)).data;
			await post(`/sandboxes/${forked.id}/exec`, { command: 'true' }, key);
			const forkMs = performance.now() - t;
			results.snapshots.push({
				layer_mib: mb,
				size_bytes: first.snap.size_bytes,
				snapshot_ms: +first.ms.toFixed(1),
				freeze_ms: first.freeze_ms,
				stored_bytes: first.stored_bytes,
				unchanged_snapshot_ms: +second.ms.toFixed(1),
				unchanged_stored_bytes: second.stored_bytes,
				restore_to_first_command_ms: +restoreMs.toFixed(1),
				restore_boot_ms: restored.boot_ms,
				fork_live_to_first_command_ms: +forkMs.toFixed(1)
			});
			for (const id of [restored.id, forked.id, s.id]) await del(`/sandboxes/${id}`, key);
			for (const sn of [first.snap, second.snap]) await del(`/sandboxes/${s.id}/snapshots/${sn.id}`, key);
		}

		// Deployments: publish → live (the URL serves the new content), for a static site and a Node
		// server (no dependencies: the pipeline's own cost), and the rollback switch as a client sees it.
		if (want('deployments')) {
			const D = Number(process.env.BENCH_DEPLOY_N ?? 10);
			const appGet = (host, pathName = '/') =>
				new Promise((resolve) => {
					const req = http.request({ host: '127.0.0.1', port, path: pathName, headers: { host } }, (res) => {
						let body = '';
						res.setEncoding('utf8');
						res.on('data', (c) => (body += c));
						res.on('end', () => resolve({ status: res.statusCode, body }));
					});
					req.on('error', () => resolve({ status: 0, body: '' }));
					req.end();
				});
			const untilServes = async (host, text, timeoutMs = 300_000) => {
				const deadline = performance.now() + timeoutMs;
				while (performance.now() < deadline) {
					const r = await appGet(host);
					if (r.status === 200 && r.body.includes(text)) return;
					await sleep(10);
				}
				throw new Error(`${host} never served ${text}`);
			};
			const write = (id, files) => post(`/sandboxes/${id}/files/write-many`, { files: Object.entries(files).map(([p, content]) => ({ path: `/workspace/${p}`, content, encoding: 'utf8' })) }, key);
			const publishLive = async (dep, sbId, marker) => {
				const t = performance.now();
				await post(`/deployments/${dep.id}/publish`, { source_sandbox_id: sbId }, key);
				await untilServes(`${dep.auto_subdomain}:${port}`, marker);
				return performance.now() - t;
			};
			const rollbackSwitch = async (dep, expectText) => {
				const host = `${dep.auto_subdomain}:${port}`;
				let stop = false;
				let first = null;
				let failures = 0;
				let n = 0;
				const t0 = performance.now();
				const loop = (async () => {
					while (!stop) {
						const r = await appGet(host);
						n++;
						if (r.status !== 200) failures++;
						if (first === null && r.body.includes(expectText)) first = performance.now();
					}
				})();
				const tApi = performance.now();
				await post(`/deployments/${dep.id}/rollback`, {}, key);
				const apiMs = performance.now() - tApi;
				while (first === null && performance.now() - t0 < 30_000) await sleep(2);
				stop = true;
				await loop;
				return { switch_ms: first - tApi, api_ms: apiMs, failures, requests: n };
			};

			const src = (await post('/sandboxes', { template_id: 'host-minimal', timeout_sec: 3600 }, key)).data;
			const sdep = (await post('/deployments', { name: `bench static ${Date.now()}` }, key)).data;
			const staticLive = [];
			for (let i = 0; i < D; i++) {
				await write(src.id, { 'index.html': `<h1>static ${i}</h1>`, 'assets/app.js': `console.log(${i})` });
				staticLive.push(await publishLive(sdep, src.id, `static ${i}<`));
			}
			results.deploy_static_publish_to_live = stats(staticLive);
			const staticRb = [];
			for (let i = 0; i < D; i++) {
				// Each rollback flips between the last two versions.
				const expectText = i % 2 === 0 ? `static ${D - 2}<` : `static ${D - 1}<`;
				staticRb.push(await rollbackSwitch(sdep, expectText));
			}
			results.deploy_static_rollback_switch = { ...stats(staticRb.map((r) => r.switch_ms)), api: stats(staticRb.map((r) => r.api_ms)), failures: staticRb.reduce((a, r) => a + r.failures, 0), requests: staticRb.reduce((a, r) => a + r.requests, 0) };
			results.deploy_static_serve = stats(await (async () => {
				const xs = [];
				for (let i = 0; i < 200; i++) {
					const t = performance.now();
					await appGet(`${sdep.auto_subdomain}:${port}`);
					xs.push(performance.now() - t);
				}
				return xs;
			})());

			const nodeSrc = (await post('/sandboxes', { template_id: 'host-minimal', timeout_sec: 3600 }, key)).data;
			const ddep = (await post('/deployments', { name: `bench node ${Date.now()}` }, key)).data;
			const dynLive = [];
			const DN = Math.max(2, Math.min(D, Number(process.env.BENCH_DEPLOY_DYNAMIC_N ?? 5)));
			for (let i = 0; i < DN; i++) {
				await write(nodeSrc.id, {
					'package.json': JSON.stringify({ name: 'b', scripts: { start: 'node server.js' } }),
					'server.js': `require('http').createServer((q, s) => s.end('node ${i}.')).listen(process.env.PORT)`
				});
				dynLive.push(await publishLive(ddep, nodeSrc.id, `node ${i}.`));
			}
			results.deploy_dynamic_publish_to_live = stats(dynLive);
			const dynRb = [];
			for (let i = 0; i < DN; i++) dynRb.push(await rollbackSwitch(ddep, i % 2 === 0 ? `node ${DN - 2}.` : `node ${DN - 1}.`));
			results.deploy_dynamic_rollback_switch = { ...stats(dynRb.map((r) => r.switch_ms)), api: stats(dynRb.map((r) => r.api_ms)), failures: dynRb.reduce((a, r) => a + r.failures, 0), requests: dynRb.reduce((a, r) => a + r.requests, 0) };
			results.deploy_dynamic_serve = stats(await (async () => {
				const xs = [];
				for (let i = 0; i < 200; i++) {
					const t = performance.now();
					await appGet(`${ddep.auto_subdomain}:${port}`);
					xs.push(performance.now() - t);
				}
				return xs;
			})());
			await del(`/deployments/${sdep.id}`, key);
			await del(`/deployments/${ddep.id}`, key);
			await del(`/sandboxes/${src.id}`, key);
			await del(`/sandboxes/${nodeSrc.id}`, key);
		}

		fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
		fs.writeFileSync(path.join(root, 'bench/results/latest.json'), JSON.stringify(results, null, 2));
		const row = (name, r, note) => `| ${name} | ${r.n} | ${r.p50} | ${r.p95} | ${r.p99} | ${note} |`;
		const md = [
			`# Hangar benchmark — ${results.date}`,
			'',
			`Host: ${results.host.cpus} cores, Node ${results.host.node}; PGlite; template host-minimal; warm pool ${process.env.HANGAR_POOL_SIZE ?? 4}. Times in ms.`,
			'',
			'| measurement | n | p50 | p95 | p99 | notes |',
			'|---|---|---|---|---|---|',
			`| floor: bwrap alone (\`/bin/true\`) | ${results.floor_bwrap_ms.n} | ${results.floor_bwrap_ms.p50} | ${results.floor_bwrap_ms.p95} | ${results.floor_bwrap_ms.p99} | raw isolation cost |`,
			...['create_exec_c1', 'create_exec_c10', 'run_c1', 'run_c10'].filter((k) => results[k]).map((k) => {
				const r = results[k];
				return `| ${k.replace('_c', ' @ concurrency ')} | ${r.n} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.warm}/${r.n} warm, ${r.per_sec}/s |`;
			}),
			...(results.exec_roundtrip ? [`| exec round trip (\`true\`) | ${results.exec_roundtrip.n} | ${results.exec_roundtrip.p50} | ${results.exec_roundtrip.p95} | ${results.exec_roundtrip.p99} | |`] : []),
			results.idle_sandbox_pss_kib === undefined ? '' : typeof results.idle_sandbox_pss_kib === 'object'
				? `| idle sandbox memory with network (PSS, KiB) | ${results.idle_sandbox_pss_kib.n} | ${results.idle_sandbox_pss_kib.p50} | ${results.idle_sandbox_pss_kib.p95} | ${results.idle_sandbox_pss_kib.p99} | every process in the sandbox's cgroup, incl. slirp4netns |` +
					(results.idle_sandbox_no_network_pss_kib
						? `\n| idle sandbox memory without network (PSS, KiB) | ${results.idle_sandbox_no_network_pss_kib.n} | ${results.idle_sandbox_no_network_pss_kib.p50} | ${results.idle_sandbox_no_network_pss_kib.p95} | ${results.idle_sandbox_no_network_pss_kib.p99} | warm-pool sandboxes: bwrap + init |`
						: '')
				: `| idle sandbox memory | | | | | ${results.idle_sandbox_pss_kib} |`,
			...(results.computer_screenshot
				? [
						`| computer create → active (desktop up) | 1 | ${results.computer_create_ms} | | | desktop-host, 1280×800 |`,
						`| computer screenshot (PNG, 1280×800) | ${results.computer_screenshot.n} | ${results.computer_screenshot.p50} | ${results.computer_screenshot.p95} | ${results.computer_screenshot.p99} | GET /computers/{id}/desktop/screenshot |`,
						`| computer click | ${results.computer_click.n} | ${results.computer_click.p50} | ${results.computer_click.p95} | ${results.computer_click.p99} | POST /computers/{id}/desktop/click |`
					]
				: []),
			...(results.deploy_static_publish_to_live
				? [
						'',
						'Deployments (host-minimal template; the builder is a fresh sandbox per publish). Times in ms from the API call to the URL serving the new content.',
						'',
						'| measurement | n | p50 | p95 | p99 | notes |',
						'|---|---|---|---|---|---|',
						row('static: publish → live', results.deploy_static_publish_to_live, 'snapshot /workspace, builder sandbox, package, store, promote'),
						row('static: rollback switch', results.deploy_static_rollback_switch, `API answered in p50 ${results.deploy_static_rollback_switch.api.p50} ms; ${results.deploy_static_rollback_switch.failures} failed of ${results.deploy_static_rollback_switch.requests} requests during the switches`),
						row('static: GET / (served by the control plane)', results.deploy_static_serve, 'one client, keep-alive off'),
						row('dynamic (Node): publish → live', results.deploy_dynamic_publish_to_live, 'as static + runtime sandbox boot + health check'),
						row('dynamic: rollback switch', results.deploy_dynamic_rollback_switch, `previous version's runtime kept warm; API p50 ${results.deploy_dynamic_rollback_switch.api.p50} ms; ${results.deploy_dynamic_rollback_switch.failures} failed of ${results.deploy_dynamic_rollback_switch.requests} requests`),
						row('dynamic: GET / (proxied to the runtime)', results.deploy_dynamic_serve, 'tcp channel through the host agent')
					]
				: []),
			'',
			'Snapshots (writable layer of 1 MiB random files; filesystem only). Times in ms, one run each.',
			'',
			'| layer | snapshot (API, until ready) | processes frozen | stored | unchanged 2nd snapshot (stored) | restore → first command (boot) | fork of live sandbox → first command |',
			'|---|---|---|---|---|---|---|',
			...(results.snapshots ?? []).map(
				(r) =>
					`| ${r.layer_mib} MiB | ${r.snapshot_ms} | ${r.freeze_ms} | ${(r.stored_bytes / 1048576).toFixed(1)} MiB | ${r.unchanged_snapshot_ms} (${r.unchanged_stored_bytes} B) | ${r.restore_to_first_command_ms} (${r.restore_boot_ms}) | ${r.fork_live_to_first_command_ms} |`
			),
			''
		].join('\n');
		fs.writeFileSync(path.join(root, 'bench/results/latest.md'), md);
		console.log(md);
	} finally {
		server.kill('SIGTERM');
		await new Promise((r) => server.once('exit', r));
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
}

/**
 * PSS of every process in each sandbox cgroup of the agent(s) on this host
 * (/sys/fs/cgroup/memory/hangar/<agent>/<sandbox> on v1, /sys/fs/cgroup/hangar/… on v2).
 * Returns one entry per sandbox: {kib, procs}.
 */
function sandboxMemory() {
	const roots = ['/sys/fs/cgroup/memory/hangar', '/sys/fs/cgroup/hangar'].filter((r) => fs.existsSync(r));
	const out = [];
	for (const root of roots) {
		for (const agent of fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
			for (const sb of fs.readdirSync(path.join(root, agent.name), { withFileTypes: true }).filter((d) => d.isDirectory())) {
				const procs = path.join(root, agent.name, sb.name, 'cgroup.procs');
				if (!fs.existsSync(procs)) continue;
				const pids = fs.readFileSync(procs, 'utf8').split('\n').filter(Boolean);
				let kib = 0;
				for (const pid of pids) {
					try {
						const m = /Pss:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
						if (m) kib += Number(m[1]);
					} catch {}
				}
				if (pids.length) out.push({ kib, procs: pids.length });
			}
		}
	}
	return out;
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
