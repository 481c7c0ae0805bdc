// Runtime instances: a dynamic version runs in a sandbox booted from its release (the template,
// the artifact unpacked into /workspace, the run command started with PORT and the frozen env),
// health-checked over the agent's tcp channel before it receives traffic.
//
// The reconciler (every few seconds, on the replica whose agent connection hosts the instance)
// restarts a process that died, replaces an instance whose sandbox is gone, and keeps one healthy
// instance for every version an environment serves, plus the version served before it (so a
// rollback switches instantly).
import http from 'node:http';
import { and, eq, inArray, isNull, lt, notInArray } from 'drizzle-orm';
import { db } from '../db';
import { deployment, deploymentInstance, deploymentRoute, deploymentVersion, sandbox, type Deployment, type DeploymentInstance, type DeploymentVersion, type Sandbox } from '../db/schema';
import { emit } from '../events/service';
import { openAgentChannel } from '../hosts/channels';
import { agentCall, isConnected } from '../hosts/connections';
import { notFound } from '../http/errors';
import { iso } from '../http/respond';
import { prefixedId } from '../ids';
import { createSandbox, destroySandbox } from '../sandboxes/service';
import { frozenEnv, systemActor } from './service';

const num = (v: string | undefined, d: number) => (v && Number.isFinite(Number(v)) ? Number(v) : d);
const graceMs = () => num(process.env.HANGAR_DEPLOY_HEALTH_GRACE_SEC, 60) * 1000;
const FAILURES_BEFORE_RESTART = 3;
/** A booting instance heartbeats at least this often (health-check grace loop, template wait). */
const STALE_BOOT_MS = 90_000;

export function toInstanceDto(i: DeploymentInstance) {
	return {
		id: i.id,
		deployment_id: i.deploymentId,
		version_id: i.versionId,
		sandbox_id: i.sandboxId,
		state: i.state,
		port: i.port,
		pid: i.pid,
		restarts: i.restarts,
		last_error: i.lastError,
		last_health_at: iso(i.lastHealthAt),
		created_at: iso(i.createdAt),
		updated_at: iso(i.updatedAt),
		stopped_at: iso(i.stoppedAt)
	};
}

async function setInstance(id: string, patch: Partial<DeploymentInstance>): Promise<DeploymentInstance | undefined> {
	const [row] = await db
		.update(deploymentInstance)
		.set({ ...patch, updatedAt: new Date() })
		.where(eq(deploymentInstance.id, id))
		.returning();
	return row;
}

/** One HTTP GET to 127.0.0.1:port inside the sandbox; resolves with the status code. */
export async function probeHttp(sb: Pick<Sandbox, 'id' | 'hostId'>, port: number, path: string, timeoutMs = 3000): Promise<number> {
	const ch = await openAgentChannel(sb.hostId!, 'tcp', { sandbox_id: sb.id, port }, { timeoutMs });
	ch.on('error', () => undefined);
	return new Promise<number>((resolve, reject) => {
		const req = http.request({
			method: 'GET',
			path,
			headers: { Host: `localhost:${port}`, 'User-Agent': 'hangar-health-check', Connection: 'close' },
			createConnection: () => ch as unknown as import('node:net').Socket,
			setHost: false
		} as http.RequestOptions);
		const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
		req.on('response', (res) => {
			clearTimeout(timer);
			res.resume();
			resolve(res.statusCode ?? 0);
			ch.destroy();
		});
		req.on('error', (e) => {
			clearTimeout(timer);
			ch.destroy();
			reject(e);
		});
		req.end();
	});
}

/** Healthy means a 2xx/3xx at the configured path; with no path configured, any answer below 500 at /. */
function healthyStatus(v: DeploymentVersion, status: number): boolean {
	return v.config.health_check_path ? status >= 200 && status < 400 : status > 0 && status < 500;
}

async function sandboxRow(id: string | null): Promise<Sandbox | null> {
	if (!id) return null;
	const [row] = await db.select().from(sandbox).where(eq(sandbox.id, id));
	return row ?? null;
}

async function startApp(sb: Sandbox, v: DeploymentVersion): Promise<number> {
	const env = { NODE_ENV: 'production', ...frozenEnv(v), PORT: String(v.config.port ?? 3000) };
	const p = await agentCall(sb.hostId!, 'process.start', { sandbox_id: sb.id, command: v.config.run_command!, cwd: '/workspace', env, name: 'app', shell: 'bash' });
	return p.pid;
}

async function appLogTail(sb: Sandbox, pid: number | null, lines = 20): Promise<string[]> {
	if (!pid) return [];
	try {
		const r = await agentCall(sb.hostId!, 'process.logs', { sandbox_id: sb.id, pid, tail: lines });
		return r.lines.map((l) => `[${l.stream}] ${l.line}`);
	} catch {
		return [];
	}
}

/** Waits for the app to answer its health check within the grace period. */
async function waitHealthy(sb: Sandbox, v: DeploymentVersion, pid: number, log?: (line: string) => void): Promise<void> {
	const deadline = Date.now() + graceMs();
	const path = v.config.health_check_path ?? '/';
	const port = v.config.port ?? 3000;
	let last = '';
	let delay = 100;
	while (Date.now() < deadline) {
		try {
			const status = await probeHttp(sb, port, path);
			if (healthyStatus(v, status)) {
				log?.(`health check GET ${path} → ${status}`);
				return;
			}
			last = `GET ${path} answered ${status}`;
		} catch (e) {
			last = (e as Error).message.includes('CONNECTION_REFUSED') || (e as { code?: string }).code === 'CONNECTION_REFUSED' ? `nothing listening on port ${port} yet` : (e as Error).message;
		}
		const p = await agentCall(sb.hostId!, 'process.get', { sandbox_id: sb.id, pid }).catch(() => null);
		if (p && p.state === 'exited') {
			const tail = await appLogTail(sb, pid);
			for (const l of tail) log?.(l);
			throw new Error(`the app exited (code ${p.exit_code ?? p.signal ?? '?'}) before answering on port ${port}`);
		}
		await new Promise((r) => setTimeout(r, delay));
		delay = Math.min(delay * 2, 1000);
		if (delay === 1000) await db.update(deploymentInstance).set({ updatedAt: new Date() }).where(and(eq(deploymentInstance.sandboxId, sb.id), inArray(deploymentInstance.state, ['provisioning', 'starting'])));
	}
	const tail = await appLogTail(sb, pid);
	for (const l of tail) log?.(l);
	throw new Error(`no healthy answer within ${graceMs() / 1000} s (${last})`);
}

const booting = new Map<string, Promise<DeploymentInstance>>();

/** A healthy runtime for a dynamic version: the existing one, or a new one booted and checked. */
export function ensureRuntime(dep: Deployment, v: DeploymentVersion, opts: { log?: (line: string) => void } = {}): Promise<DeploymentInstance> {
	let p = booting.get(v.id);
	if (!p) {
		p = (async () => {
			const existing = await servingInstance(v.id, true);
			if (existing) return existing.instance;
			return bootInstance(dep, v, opts.log);
		})().finally(() => booting.delete(v.id));
		booting.set(v.id, p);
	}
	return p;
}

async function bootInstance(dep: Deployment, v: DeploymentVersion, log?: (line: string) => void): Promise<DeploymentInstance> {
	const [inst] = await db
		.insert(deploymentInstance)
		.values({ id: prefixedId('ri'), organizationId: dep.organizationId, deploymentId: dep.id, versionId: v.id, state: 'provisioning', port: v.config.port ?? 3000 })
		.returning();
	let sb: Sandbox | null = null;
	try {
		sb = await createSandbox(systemActor(dep.organizationId), {
			template_id: v.templateId,
			name: `run-${dep.slug}-v${v.versionNumber}`.slice(0, 60),
			workspace_id: dep.workspaceId,
			project_id: dep.projectId,
			always_on: true,
			network: true,
			metadata: { 'hangar.role': 'deployment-runtime', deployment_id: dep.id, version_id: v.id, instance_id: inst.id },
			tags: ['deployment-runtime']
		} as Parameters<typeof createSandbox>[1]);
		await setInstance(inst.id, { sandboxId: sb.id, state: 'starting' });
		const deadline = Date.now() + 30 * 60_000;
		while (sb.state === 'provisioning' && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 1000));
			sb = (await sandboxRow(sb.id))!;
			await setInstance(inst.id, {}); // heartbeat (updated_at) while the template builds
		}
		if (sb.state !== 'running') throw new Error(`the runtime sandbox is ${sb.state}`);
		const { unpackInto } = await import('./build');
		await unpackInto(null, sb, v.artifactSha256!);
		const pid = await startApp(sb, v);
		log?.(`runtime ${inst.id} in sandbox ${sb.id}: started \`${v.config.run_command}\` (pid ${pid})`);
		await setInstance(inst.id, { pid });
		await waitHealthy(sb, v, pid, log);
		const row = await setInstance(inst.id, { state: 'healthy', lastHealthAt: new Date(), failures: 0 });
		await emit({
			organizationId: dep.organizationId,
			workspaceId: dep.workspaceId,
			type: 'deployment.runtime.healthy',
			resourceType: 'deployment',
			resourceId: dep.id,
			data: { deployment_id: dep.id, version_id: v.id, instance_id: inst.id, sandbox_id: sb.id }
		});
		return row!;
	} catch (e) {
		await setInstance(inst.id, { state: 'error', lastError: (e as Error).message.slice(0, 1000), stoppedAt: new Date() });
		if (sb) {
			const fresh = await sandboxRow(sb.id);
			if (fresh && fresh.state !== 'destroyed') await destroySandbox(null, fresh, 'runtime failed').catch(() => {});
		}
		throw e;
	}
}

async function stopInstance(i: DeploymentInstance, reason: string): Promise<void> {
	await setInstance(i.id, { state: 'stopped', stoppedAt: new Date(), lastError: i.lastError ?? null });
	const sb = await sandboxRow(i.sandboxId);
	if (sb && sb.state !== 'destroyed') await destroySandbox(null, sb, reason).catch((e) => console.error('stopping runtime failed', e));
}

const LIVE = ['provisioning', 'starting', 'healthy', 'unhealthy'];

export async function stopVersionRuntimes(versionId: string): Promise<void> {
	const rows = await db.select().from(deploymentInstance).where(and(eq(deploymentInstance.versionId, versionId), inArray(deploymentInstance.state, LIVE)));
	for (const i of rows) await stopInstance(i, 'version failed');
}

export async function stopDeploymentRuntimes(depId: string): Promise<void> {
	const rows = await db.select().from(deploymentInstance).where(and(eq(deploymentInstance.deploymentId, depId), inArray(deploymentInstance.state, LIVE)));
	for (const i of rows) await stopInstance(i, 'deployment deleted');
}

/** Stops runtimes of versions no environment serves and that are not the last one served before. */
export async function retireRuntimes(depId: string): Promise<void> {
	const routes = await db.select().from(deploymentRoute).where(eq(deploymentRoute.deploymentId, depId));
	const keep = new Set<string>();
	for (const r of routes) {
		keep.add(r.versionId);
		if (r.previousVersionId) keep.add(r.previousVersionId);
	}
	// Builds in progress keep the instance they are health-checking.
	const building = await db
		.select({ id: deploymentVersion.id })
		.from(deploymentVersion)
		.where(and(eq(deploymentVersion.deploymentId, depId), inArray(deploymentVersion.state, ['created', 'building'])));
	for (const b of building) keep.add(b.id);
	const rows = await db
		.select()
		.from(deploymentInstance)
		.where(and(eq(deploymentInstance.deploymentId, depId), inArray(deploymentInstance.state, ['healthy', 'unhealthy']), keep.size ? notInArray(deploymentInstance.versionId, [...keep]) : undefined));
	for (const i of rows) await stopInstance(i, 'version retired');
}

/** A live instance of a version whose sandbox runs: healthy ones first (`healthyOnly` for promotion). */
export async function servingInstance(versionId: string, healthyOnly = false): Promise<{ instance: DeploymentInstance; sandbox: Sandbox } | null> {
	const rows = await db
		.select()
		.from(deploymentInstance)
		.where(and(eq(deploymentInstance.versionId, versionId), inArray(deploymentInstance.state, healthyOnly ? ['healthy'] : ['healthy', 'unhealthy'])));
	rows.sort((a, b) => (a.state === b.state ? 0 : a.state === 'healthy' ? -1 : 1));
	for (const i of rows) {
		const sb = await sandboxRow(i.sandboxId);
		if (sb && sb.state === 'running') return { instance: i, sandbox: sb };
	}
	return null;
}

export async function getInstance(depId: string, id: string): Promise<DeploymentInstance> {
	const [i] = await db.select().from(deploymentInstance).where(and(eq(deploymentInstance.deploymentId, depId), eq(deploymentInstance.id, id)));
	if (!i) throw notFound('runtime instance');
	return i;
}

export async function listInstances(depId: string, includeStopped = false) {
	return db
		.select()
		.from(deploymentInstance)
		.where(and(eq(deploymentInstance.deploymentId, depId), includeStopped ? undefined : inArray(deploymentInstance.state, LIVE)))
		.orderBy(deploymentInstance.createdAt)
		.limit(100);
}

export async function instanceLogs(i: DeploymentInstance, lines = 100): Promise<string[]> {
	const sb = await sandboxRow(i.sandboxId);
	if (!sb || sb.state !== 'running' || !i.pid) return [];
	return appLogTail(sb, i.pid, lines);
}

// ------------------------------------------------------------------------------------------
// Reconciler

let running = false;
const bootFailures = new Map<string, { n: number; retryAt: number }>();

/** One pass: check instances on hosts connected here; boot instances for served versions that have none. */
export async function reconcileOnce(): Promise<void> {
	if (running) return;
	running = true;
	try {
		const live = await db.select().from(deploymentInstance).where(inArray(deploymentInstance.state, ['healthy', 'unhealthy']));
		for (const i of live) await checkInstance(i).catch((e) => console.error(`runtime check ${i.id} failed`, e));

		// A boot whose process died (control plane restart) stops heartbeating: clear it away.
		const stale = await db
			.select()
			.from(deploymentInstance)
			.where(and(inArray(deploymentInstance.state, ['provisioning', 'starting']), lt(deploymentInstance.updatedAt, new Date(Date.now() - STALE_BOOT_MS))));
		for (const i of stale) {
			if (booting.has(i.versionId)) continue;
			await setInstance(i.id, { state: 'error', lastError: 'its start was interrupted', stoppedAt: new Date() });
			const sb = await sandboxRow(i.sandboxId);
			if (sb && sb.state !== 'destroyed') await destroySandbox(null, sb, 'runtime start interrupted').catch(() => {});
		}

		// Every served dynamic version (and the previous one, kept warm for rollback) has a live instance.
		const served = await db
			.select({ route: deploymentRoute, version: deploymentVersion, dep: deployment })
			.from(deploymentRoute)
			.innerJoin(deploymentVersion, eq(deploymentVersion.id, deploymentRoute.versionId))
			.innerJoin(deployment, eq(deployment.id, deploymentRoute.deploymentId))
			.where(and(eq(deploymentVersion.kind, 'dynamic'), isNull(deployment.deletedAt)));
		for (const s of served) {
			const [any] = await db
				.select({ id: deploymentInstance.id })
				.from(deploymentInstance)
				.where(and(eq(deploymentInstance.versionId, s.version.id), inArray(deploymentInstance.state, LIVE)))
				.limit(1);
			if (any || booting.has(s.version.id)) continue;
			if (!s.version.artifactSha256) continue;
			// A replacement that failed (no credits, host full, app broken) is retried with backoff.
			const last = bootFailures.get(s.version.id);
			if (last && Date.now() < last.retryAt) continue;
			ensureRuntime(s.dep, s.version)
				.then(() => bootFailures.delete(s.version.id))
				.catch((e) => {
					const n = (last?.n ?? 0) + 1;
					bootFailures.set(s.version.id, { n, retryAt: Date.now() + Math.min(300_000, 5000 * 2 ** (n - 1)) });
					console.error(`replacing the runtime of ${s.version.id} failed (attempt ${n}): ${(e as Error).message}`);
				});
		}
	} finally {
		running = false;
	}
}

async function checkInstance(i: DeploymentInstance): Promise<void> {
	const sb = await sandboxRow(i.sandboxId);
	if (!sb || sb.state === 'destroyed' || sb.state === 'error') {
		await setInstance(i.id, { state: 'error', lastError: 'its sandbox is gone', stoppedAt: new Date() });
		return;
	}
	if (!sb.hostId || !isConnected(sb.hostId) || sb.state !== 'running') return;
	const [v] = await db.select().from(deploymentVersion).where(eq(deploymentVersion.id, i.versionId));
	if (!v) return;
	const p = i.pid ? await agentCall(sb.hostId, 'process.get', { sandbox_id: sb.id, pid: i.pid }).catch(() => null) : null;
	if (!p || p.state === 'exited') {
		const pid = await startApp(sb, v);
		await setInstance(i.id, { pid, restarts: i.restarts + 1, state: 'unhealthy', lastError: p ? `the app exited (${p.exit_code ?? p.signal}); restarted` : 'the app was not running; restarted' });
		await emit({
			organizationId: i.organizationId,
			type: 'deployment.runtime.restarted',
			resourceType: 'deployment',
			resourceId: i.deploymentId,
			data: { deployment_id: i.deploymentId, instance_id: i.id, version_id: i.versionId, restarts: i.restarts + 1 }
		});
		return;
	}
	let ok = false;
	try {
		ok = healthyStatus(v, await probeHttp(sb, i.port, v.config.health_check_path ?? '/'));
	} catch {
		ok = false;
	}
	if (ok) {
		if (i.state !== 'healthy' || i.failures) await setInstance(i.id, { state: 'healthy', failures: 0, lastHealthAt: new Date() });
		else await db.update(deploymentInstance).set({ lastHealthAt: new Date() }).where(eq(deploymentInstance.id, i.id));
		return;
	}
	const failures = i.failures + 1;
	if (failures < FAILURES_BEFORE_RESTART) {
		await setInstance(i.id, { failures });
		return;
	}
	// Unhealthy for several checks in a row: restart the app in place.
	await agentCall(sb.hostId, 'process.stop', { sandbox_id: sb.id, pid: i.pid!, grace_ms: 3000 }).catch(() => {});
	const pid = await startApp(sb, v);
	await setInstance(i.id, { state: 'unhealthy', failures: 0, pid, restarts: i.restarts + 1, lastError: 'failed its health check 3 times; restarted' });
}

