// The publish pipeline: source sandbox → source snapshot (tar of /workspace, sha256) → builder
// sandbox (fresh, same template; install + build) → release artifact (static output directory, or
// the built tree for a dynamic app; sha256, stored once) → version ready → runtime health check
// (dynamic) → promotion. Each step is written to the version's build log.
//
// A build runs on the replica that accepted the publish; it heartbeats on the version row, and a
// version whose heartbeat stops (replica crash) is failed by the sweeper, never left building.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { and, eq, inArray, isNull, lt, max, sql } from 'drizzle-orm';
import { db } from '../db';
import { deployment, deploymentRelease, deploymentRoute, deploymentVersion, sandbox, type DeployConfig, type Deployment, type DeploymentVersion, type Sandbox } from '../db/schema';
import { emit } from '../events/service';
import { ApiError, validationError } from '../http/errors';
import { ok } from '../http/respond';
import { prefixedId } from '../ids';
import { createSandbox, destroySandbox, execInSandbox, getSandbox, type Actor } from '../sandboxes/service';
import { findTemplate } from '../sandboxes/templates';
import { openRead, writeStream } from '../files/service';
import { freezeEnv, frozenEnv, mergeConfig, PRODUCTION, promoteVersion, toDeploymentDto, toReleaseDto, versionDtos, viewOf } from './service';
import { appendLog, closeLog, logStep, openLog } from './logs';
import { blobPath, ingestTar, type StoredBlob } from './store';
import { appUrls } from './config';
import { detectProject, staticOutputProbe } from './detect';

export const REPLICA_ID = `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;

const num = (v: string | undefined, d: number) => (v && Number.isFinite(Number(v)) ? Number(v) : d);
export const limits = () => ({
	sourceBytes: num(process.env.HANGAR_DEPLOY_MAX_SOURCE_BYTES, 1024 ** 3),
	artifactBytes: num(process.env.HANGAR_DEPLOY_MAX_ARTIFACT_BYTES, 2 * 1024 ** 3),
	buildTimeoutMs: num(process.env.HANGAR_DEPLOY_BUILD_TIMEOUT_SEC, 900) * 1000
});

/** Deterministic archives: same files → same bytes → same sha256 (so identical artifacts are stored once). */
const TAR_FLAGS = '--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu --warning=no-file-changed';
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PublishInput {
	source_sandbox_id?: string;
	environment?: string;
	promote?: boolean;
	metadata?: Record<string, unknown>;
	external_workspace_id?: string;
	external_project_id?: string;
	external_user_id?: string;
}

const active = new Map<string, Promise<void>>();

/** Accepts a publish: allocates the next version number and starts the build in the background. */
export async function publish(actor: Actor, dep: Deployment, input: PublishInput & Parameters<typeof mergeConfig>[1]): Promise<DeploymentVersion> {
	const orgId = actor.principal.organizationId;
	const sbxId = input.source_sandbox_id;
	if (!sbxId) throw validationError('source_sandbox_id is required', { source_sandbox_id: ['required'] });
	const source = await getSandbox(orgId, sbxId).catch((e) => {
		if (e instanceof ApiError && (e.code === 'NOT_FOUND' || e.code === 'INVALID_ID')) throw new ApiError(404, 'NOT_FOUND', 'source sandbox not found');
		throw e;
	});
	if (source.state === 'destroyed' || source.state === 'error') {
		throw new ApiError(409, 'SANDBOX_NOT_RUNNING', `the source sandbox is ${source.state}; publish from a live sandbox`);
	}
	const config = mergeConfig(dep.config, input);
	const templateId = config.template_id ?? source.templateId;
	if (!findTemplate(templateId)) throw validationError(`unknown template ${templateId}`, { template_id: ['unknown template'] });
	const environment = input.environment ?? PRODUCTION;
	const frozen = await freezeEnv(dep.id, environment);

	const version = await db.transaction(async (tx) => {
		// The deployment row lock orders concurrent publishes: each gets the next number.
		await tx.execute(sql`select id from deployment where id = ${dep.id} for update`);
		const [{ n }] = await tx.select({ n: max(deploymentVersion.versionNumber) }).from(deploymentVersion).where(eq(deploymentVersion.deploymentId, dep.id));
		const [row] = await tx
			.insert(deploymentVersion)
			.values({
				id: prefixedId('ver'),
				deploymentId: dep.id,
				organizationId: orgId,
				workspaceId: dep.workspaceId,
				projectId: dep.projectId,
				versionNumber: (n ?? 0) + 1,
				environment,
				kind: config.kind === 'auto' ? 'auto' : config.kind,
				state: 'created',
				sourceSandboxId: source.id,
				templateId,
				buildId: prefixedId('bld'),
				config,
				envSealed: frozen.sealed,
				envDigest: frozen.digest,
				promote: input.promote ?? true,
				buildOwner: REPLICA_ID,
				buildHeartbeatAt: new Date(),
				createdBy: actor.principal.userId,
				createdVia: actor.principal.kind === 'api_key' ? `api key ${actor.principal.label}` : actor.principal.label,
				metadata: input.metadata ?? {},
				externalWorkspaceId: input.external_workspace_id ?? dep.externalWorkspaceId,
				externalProjectId: input.external_project_id ?? dep.externalProjectId,
				externalUserId: input.external_user_id ?? dep.externalUserId
			})
			.returning();
		await tx.update(deployment).set({ state: sql`case when ${deployment.state} = 'running' then 'running' else 'building' end`, updatedAt: new Date() }).where(eq(deployment.id, dep.id));
		return row;
	});
	openLog(version.id);
	const job = runBuild(actor, dep, version, source)
		.catch((e) => console.error(`build of ${version.id} crashed`, e))
		.finally(() => active.delete(version.id));
	active.set(version.id, job);
	return version;
}

export const buildsRunning = () => active.size;
export const waitForBuild = (versionId: string) => active.get(versionId) ?? Promise.resolve();

class BuildFailure extends Error {}

async function setVersion(id: string, patch: Partial<DeploymentVersion>): Promise<DeploymentVersion> {
	const [row] = await db
		.update(deploymentVersion)
		.set({ ...patch, updatedAt: new Date() })
		.where(eq(deploymentVersion.id, id))
		.returning();
	return row;
}

async function versionEvent(dep: Deployment, v: DeploymentVersion, type: string, data: Record<string, unknown> = {}) {
	await emit({
		organizationId: dep.organizationId,
		workspaceId: dep.workspaceId,
		type,
		resourceType: 'deployment',
		resourceId: dep.id,
		data: { deployment_id: dep.id, version_id: v.id, version_number: v.versionNumber, build_id: v.buildId, environment: v.environment, ...data }
	});
}

/** Runs a shell command in a sandbox, streaming its output into the build log. */
async function run(versionId: string, sb: Sandbox, command: string, opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; quiet?: boolean } = {}) {
	const r = await execInSandbox(
		sb,
		{ command, cwd: opts.cwd ?? '/workspace', env: opts.env, timeout_ms: Math.min(opts.timeoutMs ?? 120_000, 3_600_000), shell: 'bash' } as Parameters<typeof execInSandbox>[1],
		opts.quiet ? {} : { onOutput: (p) => appendLog(versionId, p.data) }
	);
	if (r.timed_out) throw new BuildFailure(`timed out after ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s: ${command}`);
	return r;
}

/** Waits until a sandbox created in the background (template being built) is running. */
async function waitRunning(row: Sandbox, versionId: string, timeoutMs: number): Promise<Sandbox> {
	const deadline = Date.now() + timeoutMs;
	let said = false;
	while (row.state === 'provisioning') {
		if (!said) {
			logStep(versionId, `waiting for template ${row.templateId} to be ready on the host (first use builds it)`);
			said = true;
		}
		if (Date.now() > deadline) throw new BuildFailure('the builder sandbox did not start in time');
		await new Promise((r) => setTimeout(r, 1000));
		[row] = await db.select().from(sandbox).where(eq(sandbox.id, row.id));
		await heartbeat(versionId);
	}
	if (row.state !== 'running') throw new BuildFailure(`the builder sandbox is ${row.state}${row.lastError ? `: ${row.lastError}` : ''}`);
	return row;
}

async function heartbeat(versionId: string) {
	await db.update(deploymentVersion).set({ buildHeartbeatAt: new Date() }).where(eq(deploymentVersion.id, versionId));
}

/** Freezes the source directory of a sandbox into the blob store. */
async function snapshotSource(versionId: string, sb: Sandbox, config: DeployConfig): Promise<StoredBlob> {
	const dir = config.source_path ?? '/workspace';
	const tmp = `/tmp/.hangar-source-${versionId}.tar`;
	const excludes = config.exclude.map((p) => `--exclude=${q(p.replace(/^\.?\//, ''))}`).join(' ');
	const r = await run(versionId, sb, `test -d ${q(dir)} || { echo "${dir} does not exist in the sandbox" >&2; exit 3; }; tar ${TAR_FLAGS} ${excludes} -cf ${q(tmp)} -C ${q(dir)} . ; rc=$?; [ $rc -le 1 ] || exit $rc`, {
		timeoutMs: 600_000,
		cwd: '/'
	});
	if (r.exit_code !== 0) throw new BuildFailure(`could not archive ${dir} (exit ${r.exit_code})`);
	try {
		const f = await openRead(sb, tmp);
		if (f.size > limits().sourceBytes) {
			f.channel.destroy();
			throw new BuildFailure(`the source is ${Math.round(f.size / 1024 / 1024)} MiB; the limit is ${Math.round(limits().sourceBytes / 1024 / 1024)} MiB (exclude large directories with "exclude")`);
		}
		return await ingestTar(f.channel, 'source', limits().sourceBytes);
	} finally {
		await run(versionId, sb, `rm -f ${q(tmp)}`, { quiet: true, cwd: '/' }).catch(() => {});
	}
}

/** Copies a stored tar into a sandbox and unpacks it into /workspace. */
export async function unpackInto(versionId: string | null, sb: Sandbox, sha: string): Promise<void> {
	const tmp = `/tmp/.hangar-unpack-${sha.slice(0, 16)}.tar`;
	await writeStream(sb, tmp, fs.createReadStream(blobPath(sha)), { max: 8 * 1024 ** 3 });
	const r = await execInSandbox(sb, { command: `mkdir -p /workspace && tar -x -f ${q(tmp)} -C /workspace --no-same-owner && rm -f ${q(tmp)}`, cwd: '/', timeout_ms: 600_000 } as Parameters<typeof execInSandbox>[1]);
	if (r.exit_code !== 0) {
		const msg = `unpacking failed (exit ${r.exit_code}): ${r.stderr.slice(0, 500)}`;
		if (versionId) appendLog(versionId, r.stderr);
		throw new BuildFailure(msg);
	}
}

async function runBuild(actor: Actor, dep: Deployment, v: DeploymentVersion, source: Sandbox): Promise<void> {
	const started = new Date();
	let builder: Sandbox | null = null;
	const config: DeployConfig = { ...v.config };
	const buildEnv = frozenEnv(v);
	const timer = setInterval(() => heartbeat(v.id).catch(() => {}), 5000);
	try {
		v = await setVersion(v.id, { state: 'building', buildStartedAt: started });
		await versionEvent(dep, v, 'deployment.build_started', { source_sandbox_id: source.id });
		logStep(v.id, `version ${v.versionNumber} of ${dep.name} (${v.id}), build ${v.buildId}`);

		// 1. Source snapshot.
		logStep(v.id, `freezing ${config.source_path ?? '/workspace'} of sandbox ${source.id} (excluding ${config.exclude.join(', ') || 'nothing'})`);
		const src = await snapshotSource(v.id, source, config);
		logStep(v.id, `source snapshot sha256:${src.sha256} — ${src.files} files, ${src.size} bytes${src.fresh ? '' : ' (already stored)'}`);
		v = await setVersion(v.id, { sourceSha256: src.sha256, sourceBytes: src.size, sourceFiles: src.files });

		// 2. Builder sandbox from the same template.
		logStep(v.id, `starting a builder sandbox (template ${v.templateId})`);
		builder = await createSandbox(actor, {
			template_id: v.templateId,
			name: `build-${dep.slug}-v${v.versionNumber}`.slice(0, 60),
			workspace_id: dep.workspaceId,
			project_id: dep.projectId,
			timeout_sec: Math.ceil(limits().buildTimeoutMs / 1000) + 600,
			network: true,
			metadata: { 'hangar.role': 'deployment-builder', deployment_id: dep.id, version_id: v.id },
			tags: ['deployment-builder']
		} as Parameters<typeof createSandbox>[1]);
		v = await setVersion(v.id, { builderSandboxId: builder.id });
		builder = await waitRunning(builder, v.id, 30 * 60_000);
		await unpackInto(v.id, builder, src.sha256);

		// 3. Detect, install, build.
		const detected = await detectProject(builder, config, (line) => logStep(v.id, line));
		const kind = detected.kind;
		const install = config.install_command ?? detected.install;
		const build = config.build_command ?? detected.build;
		const deadline = Date.now() + limits().buildTimeoutMs;
		const left = () => Math.max(1000, deadline - Date.now());
		if (install) {
			logStep(v.id, `install: ${install}`);
			const r = await run(v.id, builder, install, { env: buildEnv, timeoutMs: left() });
			if (r.exit_code !== 0) throw new BuildFailure(`install failed (exit ${r.exit_code})`);
		}
		if (build) {
			logStep(v.id, `build: ${build}`);
			const r = await run(v.id, builder, build, { env: buildEnv, timeoutMs: left() });
			if (r.exit_code !== 0) throw new BuildFailure(`build failed (exit ${r.exit_code})`);
		}
		if (!install && !build) logStep(v.id, 'nothing to install or build');

		// 4. Package the release.
		let outDir = '.';
		let runCommand: string | null = null;
		let port: number | null = null;
		if (kind === 'static') {
			outDir = config.output_path ?? (await staticOutputProbe(builder));
			const r = await run(v.id, builder, `test -d ${q(outDir)}`, { quiet: true });
			if (r.exit_code !== 0) throw new BuildFailure(`the output directory ${outDir} does not exist after the build (set output_path)`);
			logStep(v.id, `static site from ${outDir === '.' ? '/workspace' : `/workspace/${outDir}`}`);
		} else {
			runCommand = config.run_command ?? detected.run;
			port = config.port ?? detected.port ?? 3000;
			if (!runCommand) throw new BuildFailure('a dynamic app needs a run command (run_command) — none was given or detected');
			logStep(v.id, `dynamic app: \`${runCommand}\` on port ${port}, health check ${config.health_check_path ?? '/'}`);
		}
		const artifactTmp = `/tmp/.hangar-artifact-${v.id}.tar`;
		const excl = kind === 'dynamic' ? '--exclude=./.git' : '';
		const pack = await run(v.id, builder, `tar ${TAR_FLAGS} ${excl} -cf ${q(artifactTmp)} -C ${q(`/workspace/${outDir}`.replace(/\/\.$/, ''))} . ; rc=$?; [ $rc -le 1 ] || exit $rc`, { timeoutMs: 600_000, cwd: '/' });
		if (pack.exit_code !== 0) throw new BuildFailure(`packaging failed (exit ${pack.exit_code})`);
		const f = await openRead(builder, artifactTmp);
		if (f.size > limits().artifactBytes) {
			f.channel.destroy();
			throw new BuildFailure(`the artifact is ${Math.round(f.size / 1024 / 1024)} MiB; the limit is ${Math.round(limits().artifactBytes / 1024 / 1024)} MiB`);
		}
		const art = await ingestTar(f.channel, kind, limits().artifactBytes);
		const entrypoint = kind === 'static' ? (art.manifest.files['index.html'] ? 'index.html' : null) : runCommand;
		logStep(v.id, `release sha256:${art.sha256} — ${art.files} files, ${art.totalBytes} bytes${art.fresh ? '' : ' (identical artifact already stored)'}`);

		// 5. Release + version ready (immutable from here on).
		const finished = new Date();
		const releaseId = prefixedId('rel');
		const finalConfig: DeployConfig = { ...config, kind, install_command: install, build_command: build, output_path: kind === 'static' ? outDir : config.output_path, run_command: runCommand, port };
		await db.insert(deploymentRelease).values({
			id: releaseId,
			organizationId: dep.organizationId,
			deploymentId: dep.id,
			versionId: v.id,
			kind,
			sha256: art.sha256,
			sizeBytes: art.size,
			startCommand: runCommand,
			port,
			healthCheckPath: kind === 'dynamic' ? (config.health_check_path ?? '/') : null,
			buildDurationMs: finished.getTime() - started.getTime()
		});
		await destroyBuilder(builder);
		builder = null;

		// 6. Dynamic: boot a runtime from the release and health-check it before the version counts as ready.
		v = await setVersion(v.id, {
			kind,
			config: finalConfig,
			releaseId,
			artifactSha256: art.sha256,
			artifactManifest: { files: art.files, total_bytes: art.totalBytes, entrypoint }
		});
		if (kind === 'dynamic') {
			logStep(v.id, 'starting a runtime from the release and waiting for its health check');
			const { ensureRuntime } = await import('./runtime');
			try {
				await ensureRuntime(dep, v, { log: (line) => logStep(v.id, line) });
			} catch (e) {
				throw new BuildFailure(`health check failed: ${(e as Error).message}`);
			}
		}
		logStep(v.id, `ready in ${((Date.now() - started.getTime()) / 1000).toFixed(1)} s`);
		const log = closeLog(v.id);
		v = await setVersion(v.id, { state: 'ready', buildFinishedAt: new Date(), buildLog: log.text });
		await versionEvent(dep, v, 'deployment.build_succeeded', { artifact_sha256: art.sha256, kind, build_duration_ms: Date.now() - started.getTime() });

		// 7. Promotion (the live log ends after it, so a client following the log can open the URL).
		try {
			const fresh = (await db.select().from(deployment).where(eq(deployment.id, dep.id)))[0];
			if (!fresh || fresh.deletedAt) return;
			if (v.promote) {
				await promoteVersion(actor, fresh, v, v.environment);
			} else if (fresh.state === 'building') {
				await db.update(deployment).set({ state: await stateWithoutBuild(fresh), updatedAt: new Date() }).where(eq(deployment.id, dep.id));
			}
		} catch (e) {
			// The version stays ready (promotable later); the active version keeps serving.
			console.error(`promoting ${v.id} failed`, e);
		} finally {
			log.done();
		}
	} catch (err) {
		const message = err instanceof BuildFailure ? err.message : err instanceof ApiError ? `${err.code}: ${err.message}` : `internal error: ${(err as Error).message}`;
		if (!(err instanceof BuildFailure) && !(err instanceof ApiError)) console.error(`build ${v.id} failed`, err);
		logStep(v.id, `FAILED: ${message}`);
		await failVersion(dep, v, message);
	} finally {
		clearInterval(timer);
		if (builder) await destroyBuilder(builder);
	}
}

async function destroyBuilder(b: Sandbox) {
	const [fresh] = await db.select().from(sandbox).where(eq(sandbox.id, b.id));
	if (fresh && fresh.state !== 'destroyed') await destroySandbox(null, fresh, 'build finished').catch((e) => console.error('destroying builder failed', e));
}

/** What the deployment's state is when no build is running: running if it serves, else failed/pending. */
async function stateWithoutBuild(dep: Deployment): Promise<string> {
	const [r] = await db
		.select({ n: sql<number>`count(*)::int` })
		.from(deploymentRoute)
		.where(and(eq(deploymentRoute.deploymentId, dep.id), eq(deploymentRoute.environment, PRODUCTION)));
	return Number(r?.n ?? 0) > 0 ? 'running' : 'failed';
}

export async function failVersion(dep: Deployment, v: DeploymentVersion, message: string): Promise<void> {
	const log = closeLog(v.id);
	const [row] = await db
		.update(deploymentVersion)
		.set({ state: 'failed', error: message.slice(0, 2000), buildFinishedAt: new Date(), updatedAt: new Date(), ...(log.text ? { buildLog: log.text } : {}) })
		.where(and(eq(deploymentVersion.id, v.id), inArray(deploymentVersion.state, ['created', 'building'])))
		.returning();
	log.done();
	if (!row) return;
	const [fresh] = await db.select().from(deployment).where(eq(deployment.id, dep.id));
	if (fresh && !fresh.deletedAt && fresh.state === 'building') {
		// Other builds may still be running; the last one to finish settles the state.
		const [{ n }] = await db
			.select({ n: sql<number>`count(*)::int` })
			.from(deploymentVersion)
			.where(and(eq(deploymentVersion.deploymentId, dep.id), inArray(deploymentVersion.state, ['created', 'building'])));
		if (Number(n) === 0) await db.update(deployment).set({ state: await stateWithoutBuild(fresh), updatedAt: new Date() }).where(eq(deployment.id, dep.id));
	}
	await versionEvent(dep, row, 'deployment.build_failed', { error: message.slice(0, 500) });
	const { stopVersionRuntimes } = await import('./runtime');
	await stopVersionRuntimes(v.id).catch(() => {});
}

/** Builds whose replica stopped heartbeating (crash, restart) fail instead of staying "building". */
export async function failOrphanedBuilds(staleMs = 60_000, only?: Set<string>): Promise<number> {
	const cutoff = new Date(Date.now() - staleMs);
	const rows = await db
		.select()
		.from(deploymentVersion)
		.where(and(inArray(deploymentVersion.state, ['created', 'building']), lt(deploymentVersion.buildHeartbeatAt, cutoff)));
	let n = 0;
	for (const v of rows) {
		if (active.has(v.id) || (only && !only.has(v.id))) continue;
		const [dep] = await db.select().from(deployment).where(eq(deployment.id, v.deploymentId));
		if (!dep) continue;
		await failVersion(dep, v, 'the build was interrupted (the control plane process running it stopped); publish again');
		n++;
		if (v.builderSandboxId) {
			const [b] = await db.select().from(sandbox).where(and(eq(sandbox.id, v.builderSandboxId), isNull(sandbox.destroyedAt)));
			if (b && b.state !== 'destroyed') await destroySandbox(null, b, 'build interrupted').catch(() => {});
		}
	}
	return n;
}

/** Publish answer: the deployment, the version, and what serves it. */
export async function publishResult(dep: Deployment, v: DeploymentVersion, origin?: string | URL) {
	const [fresh] = await db.select().from(deployment).where(eq(deployment.id, dep.id));
	const [vf] = await db.select().from(deploymentVersion).where(eq(deploymentVersion.id, v.id));
	const view = await viewOf(fresh);
	const dto = toDeploymentDto(view, origin);
	const [versionDto] = await versionDtos(fresh, [vf]);
	const [rel] = vf.releaseId ? await db.select().from(deploymentRelease).where(eq(deploymentRelease.id, vf.releaseId)) : [];
	const urls = appUrls(view.orgSlug, fresh.slug, vf.environment, origin);
	return {
		deployment: dto,
		version: versionDto,
		release: rel ? toReleaseDto(rel) : null,
		services: vf.state === 'ready' ? [{ id: vf.releaseId, type: vf.kind === 'static' ? 'static_web' : 'web_service', state: 'healthy' }] : [],
		promoted: versionDto.active_in.includes(vf.environment),
		url: urls.url,
		public_url: urls.url,
		path_url: urls.path_url,
		build_logs_url: `/api/v1/deployments/${fresh.id}/versions/${vf.id}/logs/stream`
	};
}

/** 202 with the building version, or (with `wait`) 200 once the build ended within that time. */
export async function respondPublish(dep: Deployment, version: DeploymentVersion, wait: boolean | number | undefined, url: URL): Promise<Response> {
	if (wait) {
		const ms = (wait === true ? 600 : wait) * 1000;
		let timer: NodeJS.Timeout | undefined;
		await Promise.race([waitForBuild(version.id), new Promise((r) => (timer = setTimeout(r, ms)))]);
		clearTimeout(timer);
	}
	const result = await publishResult(dep, version, url);
	const done = result.version.state === 'ready' || result.version.state === 'failed';
	return ok(result, done ? 200 : 202);
}

