// Deployments: the stable object (name, URL, which version each environment serves), its
// immutable versions, releases, environment variables, promotion and rollback. The build pipeline
// is in build.ts, dynamic runtimes in runtime.ts, serving in serve.ts.
import crypto from 'node:crypto';
import { and, desc, eq, inArray, isNull, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import { db, isUniqueViolation } from '../db';
import {
	deployment,
	deploymentEnvVar,
	deploymentRelease,
	deploymentRoute,
	deploymentVersion,
	organization,
	user,
	type DeployConfig,
	type Deployment,
	type DeploymentRelease,
	type DeploymentRoute,
	type DeploymentVersion
} from '../db/schema';
import { audit, auditActorOf } from '../audit/service';
import { emit } from '../events/service';
import { ApiError, conflict, notFound, validationError } from '../http/errors';
import { iso } from '../http/respond';
import { hmacKey, sealChaCha, unseal } from '../secrets';
import { slugify, slugSuffix } from '../slug';
import { resolveOwnership } from '../workspaces/service';
import type { Actor } from '../sandboxes/service';
import { prefixedId } from '../ids';
import { appUrls, envLabel } from './config';
import { blobUri, ensureSite, hasBlob, readManifest } from './store';
import { ENV_KEY_RE, type ConfigFields } from './schemas';
import type { z } from 'zod';
import type { deploymentCreateSchema, deploymentUpdateSchema, deploymentListQuery, versionListQuery, envSetSchema } from './schemas';

export const PRODUCTION = 'production';
export const DEFAULT_EXCLUDE = ['node_modules', '.git', '.next/cache', '.cache', '__pycache__', '.venv', '.turbo', '.svelte-kit/output'];


/** Hangar acting on its own (runtime reconciler, sweepers). */
export function systemActor(orgId: string): Actor {
	return {
		principal: {
			kind: 'user',
			organizationId: orgId,
			userId: null,
			apiKeyId: null,
			role: 'owner',
			scopes: ['*'],
			rateLimitRpm: null,
			label: 'hangar (deployments)',
			isInstanceAdmin: false
		},
		requestId: `sys_${crypto.randomUUID()}`
	};
}

// ------------------------------------------------------------------------------------------
// Configuration

export function defaultConfig(): DeployConfig {
	return {
		kind: 'auto',
		install_command: null,
		build_command: null,
		run_command: null,
		port: null,
		health_check_path: null,
		output_path: null,
		source_path: null,
		exclude: [...DEFAULT_EXCLUDE],
		spa: false,
		template_id: null
	};
}

/** Applies request fields to a config (undefined keeps, null clears). */
export function mergeConfig(base: DeployConfig, f: ConfigFields & { type?: string; mode?: string; source_path?: string | null }): DeployConfig {
	const c: DeployConfig = { ...base, exclude: [...base.exclude] };
	const kind = f.kind ?? (f.type === 'server' || f.mode === 'server' ? 'dynamic' : (f.type ?? f.mode));
	if (kind === 'auto' || kind === 'static' || kind === 'dynamic') c.kind = kind;
	if (f.install_command !== undefined) c.install_command = f.install_command;
	if (f.build_command !== undefined) c.build_command = f.build_command;
	const run = f.run_command !== undefined ? f.run_command : f.start_command;
	if (run !== undefined) c.run_command = run;
	if (f.port !== undefined) c.port = f.port;
	if (f.health_check_path !== undefined) c.health_check_path = f.health_check_path;
	if (f.output_path !== undefined) {
		// An absolute path names the directory frozen as the source (e.g. /workspace/site); a
		// relative one is the static output directory of the build (e.g. dist).
		if (f.output_path && f.output_path.startsWith('/')) c.source_path = f.output_path;
		else c.output_path = f.output_path;
	}
	if (f.source_path !== undefined) c.source_path = f.source_path;
	if (f.exclude !== undefined) c.exclude = f.exclude;
	if (f.spa !== undefined) c.spa = f.spa;
	if (f.template_id !== undefined) c.template_id = f.template_id;
	if (c.source_path) {
		const p = c.source_path.replace(/\/+$/, '') || '/';
		if (!(p === '/workspace' || p.startsWith('/workspace/') || p === '/home/user' || p.startsWith('/home/user/')) || p.split('/').includes('..')) {
			throw validationError('output_path must be under /workspace or /home/user', { output_path: ['must be under /workspace or /home/user'] });
		}
		c.source_path = p;
	}
	return c;
}

// ------------------------------------------------------------------------------------------
// Representation

const orgSlugs = new Map<string, string>();
export async function orgSlug(orgId: string): Promise<string> {
	const cached = orgSlugs.get(orgId);
	if (cached) return cached;
	const [o] = await db.select({ slug: organization.slug }).from(organization).where(eq(organization.id, orgId));
	if (!o) throw notFound('organization');
	orgSlugs.set(orgId, o.slug);
	return o.slug;
}

export async function routesOf(depIds: string[]): Promise<Map<string, DeploymentRoute[]>> {
	const out = new Map<string, DeploymentRoute[]>();
	if (!depIds.length) return out;
	const rows = await db.select().from(deploymentRoute).where(inArray(deploymentRoute.deploymentId, depIds));
	for (const r of rows) out.set(r.deploymentId, [...(out.get(r.deploymentId) ?? []), r]);
	return out;
}

export interface DeploymentView {
	row: Deployment;
	routes: DeploymentRoute[];
	orgSlug: string;
	active: { releaseId: string | null; artifactSha256: string | null; versionNumber: number } | null;
}

export async function viewOf(row: Deployment): Promise<DeploymentView> {
	return (await viewsOf([row]))[0];
}

export function toDeploymentDto(v: DeploymentView, origin?: string | URL) {
	const d = v.row;
	const prod = v.routes.find((r) => r.environment === PRODUCTION);
	const urls = appUrls(v.orgSlug, d.slug, PRODUCTION, origin);
	return {
		id: d.id,
		tenant_id: d.organizationId,
		organization_id: d.organizationId,
		owner_id: d.createdBy,
		workspace_id: d.workspaceId,
		project_id: d.projectId,
		name: d.name,
		slug: d.slug,
		source_type: d.sourceType,
		state: d.deletedAt ? 'stopped' : d.state,
		active_version_id: prod?.versionId ?? null,
		active_version_number: v.active?.versionNumber ?? null,
		active_release_id: v.active?.releaseId ?? null,
		running_artifact_sha256: v.active?.artifactSha256 ?? null,
		public_url: urls.url,
		url: urls.url,
		path_url: urls.path_url,
		auto_subdomain: urls.host,
		environments: v.routes
			.sort((a, b) => (a.environment === PRODUCTION ? -1 : b.environment === PRODUCTION ? 1 : a.environment.localeCompare(b.environment)))
			.map((r) => {
				const u = appUrls(v.orgSlug, d.slug, r.environment, origin);
				return { name: r.environment, active_version_id: r.versionId, previous_version_id: r.previousVersionId, url: u.url, path_url: u.path_url, promoted_at: iso(r.promotedAt) };
			}),
		config: d.config,
		build_command: d.config.build_command,
		run_command: d.config.run_command,
		runtime_image: d.config.template_id,
		repo_url: null,
		branch: null,
		auto_deploy: false,
		deployment_product: 'miosa_deploy',
		metadata: d.metadata,
		external_workspace_id: d.externalWorkspaceId,
		external_project_id: d.externalProjectId,
		external_user_id: d.externalUserId,
		created_at: iso(d.createdAt),
		updated_at: iso(d.updatedAt),
		deleted_at: iso(d.deletedAt)
	};
}
export type DeploymentDto = ReturnType<typeof toDeploymentDto>;

export async function userNames(ids: (string | null)[]): Promise<Map<string, string>> {
	const want = [...new Set(ids.filter((x): x is string => !!x))];
	const out = new Map<string, string>();
	if (!want.length) return out;
	for (const u of await db.select({ id: user.id, name: user.name, email: user.email }).from(user).where(inArray(user.id, want))) {
		out.set(u.id, u.name || u.email);
	}
	return out;
}

export function toVersionDto(v: DeploymentVersion, ctx: { routes?: DeploymentRoute[]; names?: Map<string, string> } = {}) {
	const dynamic = v.kind === 'dynamic';
	const duration = v.buildStartedAt && v.buildFinishedAt ? v.buildFinishedAt.getTime() - v.buildStartedAt.getTime() : null;
	return {
		id: v.id,
		deployment_id: v.deploymentId,
		tenant_id: v.organizationId,
		workspace_id: v.workspaceId,
		project_id: v.projectId,
		version_number: v.versionNumber,
		environment: v.environment,
		kind: v.kind,
		state: v.state,
		source_sandbox_id: v.sourceSandboxId,
		source_sha256: v.sourceSha256,
		source_bytes: v.sourceBytes,
		source_files: v.sourceFiles,
		source_uri: v.sourceSha256 ? blobUri(v.sourceSha256) : null,
		template_id: v.templateId,
		build_id: v.buildId,
		builder_sandbox_id: v.builderSandboxId,
		release_id: v.releaseId,
		artifact_uri: v.artifactSha256 ? blobUri(v.artifactSha256) : null,
		artifact_sha256: v.artifactSha256,
		artifact_manifest: v.artifactManifest,
		artifact_available: v.artifactSha256 ? hasBlob(v.artifactSha256) : false,
		install_command: v.config.install_command,
		build_command: v.config.build_command,
		output_path: v.config.output_path,
		runtime_image: dynamic ? v.templateId : null,
		runtime_command: dynamic ? v.config.run_command : null,
		runtime_port: dynamic ? v.config.port : null,
		health_check_path: dynamic ? (v.config.health_check_path ?? '/') : null,
		config: v.config,
		env_keys: Object.keys(v.envDigest).sort(),
		build_log_uri: `/api/v1/deployments/${v.deploymentId}/versions/${v.id}/logs`,
		build_duration_ms: duration,
		build_started_at: iso(v.buildStartedAt),
		build_finished_at: iso(v.buildFinishedAt),
		error: v.error,
		promote: v.promote,
		active_in: (ctx.routes ?? []).filter((r) => r.versionId === v.id).map((r) => r.environment),
		created_by: v.createdBy,
		created_by_name: v.createdBy ? (ctx.names?.get(v.createdBy) ?? null) : v.createdVia,
		created_via: v.createdVia,
		metadata: v.metadata,
		external_workspace_id: v.externalWorkspaceId,
		external_project_id: v.externalProjectId,
		external_user_id: v.externalUserId,
		promoted_at: iso(v.promotedAt),
		archived_at: iso(v.archivedAt),
		created_at: iso(v.createdAt),
		updated_at: iso(v.updatedAt)
	};
}
export type VersionDto = ReturnType<typeof toVersionDto>;

export function toReleaseDto(r: DeploymentRelease) {
	return {
		id: r.id,
		deployment_id: r.deploymentId,
		deployment_version_id: r.versionId,
		version_id: r.versionId,
		service_id: null,
		tenant_id: r.organizationId,
		kind: r.kind,
		storage_uri: blobUri(r.sha256),
		sha256: r.sha256,
		size_bytes: r.sizeBytes,
		available: hasBlob(r.sha256),
		start_command: r.startCommand,
		port: r.port,
		health_check_path: r.healthCheckPath,
		metadata: { build_log_uri: `/api/v1/deployments/${r.deploymentId}/versions/${r.versionId}/logs`, build_duration_ms: r.buildDurationMs },
		created_at: iso(r.createdAt)
	};
}

// ------------------------------------------------------------------------------------------
// Cursors: opaque base64url of the sort key.

const encodeCursor = (parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
function decodeCursor(c: string | undefined): unknown[] | null {
	if (!c) return null;
	try {
		const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
		if (Array.isArray(v)) return v;
	} catch {
		/* fall through */
	}
	throw validationError('invalid cursor', { cursor: ['pass next_cursor from the previous page'] });
}

// ------------------------------------------------------------------------------------------
// Deployments

export async function getDeployment(orgId: string, idOrSlug: string, opts: { includeDeleted?: boolean } = {}): Promise<Deployment> {
	const key = idOrSlug.trim();
	const where: SQL[] = [eq(deployment.organizationId, orgId), key.startsWith('dep_') ? eq(deployment.id, key) : eq(deployment.slug, key.toLowerCase())];
	if (!opts.includeDeleted) where.push(isNull(deployment.deletedAt));
	const [row] = await db.select().from(deployment).where(and(...where)).orderBy(desc(deployment.createdAt)).limit(1);
	if (!row) throw notFound('deployment');
	return row;
}

export async function listDeployments(orgId: string, q: z.infer<typeof deploymentListQuery>) {
	const where: SQL[] = [eq(deployment.organizationId, orgId), isNull(deployment.deletedAt)];
	if (q.project_id) where.push(eq(deployment.projectId, q.project_id));
	if (q.workspace_id) where.push(eq(deployment.workspaceId, q.workspace_id));
	if (q.state) where.push(eq(deployment.state, q.state));
	if (q.external_workspace_id) where.push(eq(deployment.externalWorkspaceId, q.external_workspace_id));
	if (q.external_project_id) where.push(eq(deployment.externalProjectId, q.external_project_id));
	if (q.external_user_id) where.push(eq(deployment.externalUserId, q.external_user_id));
	const cur = decodeCursor(q.cursor);
	if (cur) {
		const [ts, id] = cur as [string, string];
		const at = new Date(ts);
		if (Number.isNaN(at.getTime())) throw validationError('invalid cursor', { cursor: ['invalid'] });
		where.push(or(lt(deployment.createdAt, at), and(eq(deployment.createdAt, at), lt(deployment.id, String(id))))!);
	}
	const rows = await db
		.select()
		.from(deployment)
		.where(and(...where))
		.orderBy(desc(deployment.createdAt), desc(deployment.id))
		.limit(q.limit + 1);
	const more = rows.length > q.limit;
	const page = rows.slice(0, q.limit);
	const last = page[page.length - 1];
	return { rows: page, nextCursor: more && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null };
}

export async function viewsOf(rows: Deployment[]): Promise<DeploymentView[]> {
	const routes = await routesOf(rows.map((r) => r.id));
	const prodVersionIds = [...routes.values()].flat().filter((r) => r.environment === PRODUCTION).map((r) => r.versionId);
	const versions = prodVersionIds.length
		? await db
				.select({ id: deploymentVersion.id, releaseId: deploymentVersion.releaseId, artifactSha256: deploymentVersion.artifactSha256, versionNumber: deploymentVersion.versionNumber })
				.from(deploymentVersion)
				.where(inArray(deploymentVersion.id, prodVersionIds))
		: [];
	const byId = new Map(versions.map((v) => [v.id, v]));
	const out: DeploymentView[] = [];
	for (const row of rows) {
		const rs = routes.get(row.id) ?? [];
		const prod = rs.find((r) => r.environment === PRODUCTION);
		const v = prod ? byId.get(prod.versionId) : undefined;
		out.push({ row, routes: rs, orgSlug: await orgSlug(row.organizationId), active: v ? { releaseId: v.releaseId, artifactSha256: v.artifactSha256, versionNumber: v.versionNumber } : null });
	}
	return out;
}

export async function createDeployment(actor: Actor, input: z.infer<typeof deploymentCreateSchema> & { project_id?: string }): Promise<Deployment> {
	const orgId = actor.principal.organizationId;
	if (input.repo_url) {
		throw new ApiError(422, 'UNSUPPORTED', 'repository-based deployments are not supported by Hangar; publish from a sandbox (POST /deployments/{id}/publish or POST /sandboxes/{id}/deploy)');
	}
	const ownership = await resolveOwnership(orgId, input);
	const config = mergeConfig(defaultConfig(), input);
	const explicitSlug = input.slug;
	for (let attempt = 0; attempt < 4; attempt++) {
		const slug = explicitSlug ?? (attempt === 0 ? slugify(input.name) : `${slugify(input.name).slice(0, 40)}-${slugSuffix()}`).replace(/-{2,}/g, '-');
		try {
			const [row] = await db
				.insert(deployment)
				.values({
					id: prefixedId('dep'),
					organizationId: orgId,
					workspaceId: ownership.workspace.id,
					projectId: ownership.project.id,
					createdBy: actor.principal.userId,
					name: input.name,
					slug,
					config,
					metadata: input.metadata ?? {},
					externalWorkspaceId: ownership.workspace.externalWorkspaceId ?? input.external_workspace_id ?? null,
					externalProjectId: ownership.project.externalProjectId ?? input.external_project_id ?? null,
					externalUserId: ownership.externalUserId
				})
				.returning();
			await emit({
				organizationId: orgId,
				workspaceId: row.workspaceId,
				type: 'deployment.created',
				resourceType: 'deployment',
				resourceId: row.id,
				data: { deployment_id: row.id, name: row.name, slug: row.slug, project_id: row.projectId }
			});
			await audit(auditActorOf(actor), { action: 'deployment.created', resourceType: 'deployment', resourceId: row.id, workspaceId: row.workspaceId, metadata: { name: row.name, slug: row.slug } });
			return row;
		} catch (e) {
			if (!isUniqueViolation(e)) throw e;
			if (explicitSlug) throw conflict('a deployment with this slug already exists in the organization', { field: 'slug' });
		}
	}
	throw conflict('could not pick a unique slug; pass one');
}

export async function updateDeployment(actor: Actor, row: Deployment, input: z.infer<typeof deploymentUpdateSchema>): Promise<Deployment> {
	const config = mergeConfig(row.config, input);
	const [updated] = await db
		.update(deployment)
		.set({ name: input.name ?? row.name, metadata: input.metadata ?? row.metadata, config, updatedAt: new Date() })
		.where(eq(deployment.id, row.id))
		.returning();
	await audit(auditActorOf(actor), { action: 'deployment.updated', resourceType: 'deployment', resourceId: row.id, workspaceId: row.workspaceId });
	return updated;
}

/** Deletes a deployment: its URLs stop answering, runtimes stop, versions are archived (artifacts follow retention). */
export async function deleteDeployment(actor: Actor, row: Deployment): Promise<Deployment> {
	const now = new Date();
	const [updated] = await db.update(deployment).set({ deletedAt: now, state: 'stopped', updatedAt: now }).where(and(eq(deployment.id, row.id), isNull(deployment.deletedAt))).returning();
	if (!updated) throw notFound('deployment');
	await db.delete(deploymentRoute).where(eq(deploymentRoute.deploymentId, row.id));
	await db
		.update(deploymentVersion)
		.set({ state: 'archived', archivedAt: now, updatedAt: now })
		.where(and(eq(deploymentVersion.deploymentId, row.id), eq(deploymentVersion.state, 'ready')));
	const { stopDeploymentRuntimes } = await import('./runtime');
	await stopDeploymentRuntimes(row.id).catch((e) => console.error('stopping runtimes failed', e));
	await emit({ organizationId: row.organizationId, workspaceId: row.workspaceId, type: 'deployment.deleted', resourceType: 'deployment', resourceId: row.id, data: { deployment_id: row.id } });
	await audit(auditActorOf(actor), { action: 'deployment.deleted', resourceType: 'deployment', resourceId: row.id, workspaceId: row.workspaceId });
	return updated;
}

// ------------------------------------------------------------------------------------------
// Versions

export async function getVersion(dep: Deployment, idOrNumber: string): Promise<DeploymentVersion> {
	const key = idOrNumber.trim();
	const num = /^v?\d+$/i.test(key) ? Number(key.replace(/^v/i, '')) : null;
	const [v] = await db
		.select()
		.from(deploymentVersion)
		.where(and(eq(deploymentVersion.deploymentId, dep.id), num !== null ? eq(deploymentVersion.versionNumber, num) : eq(deploymentVersion.id, key)));
	if (!v) throw notFound('version');
	return v;
}

export async function listVersions(dep: Deployment, q: z.infer<typeof versionListQuery>) {
	const where: SQL[] = [eq(deploymentVersion.deploymentId, dep.id)];
	if (q.state) where.push(eq(deploymentVersion.state, q.state));
	if (q.environment) where.push(eq(deploymentVersion.environment, q.environment));
	if (q.workspace_id) where.push(eq(deploymentVersion.workspaceId, q.workspace_id));
	if (q.external_workspace_id) where.push(eq(deploymentVersion.externalWorkspaceId, q.external_workspace_id));
	if (q.external_user_id) where.push(eq(deploymentVersion.externalUserId, q.external_user_id));
	const cur = decodeCursor(q.cursor);
	if (cur) {
		const n = Number(cur[0]);
		if (!Number.isInteger(n)) throw validationError('invalid cursor', { cursor: ['invalid'] });
		where.push(lt(deploymentVersion.versionNumber, n));
	}
	const rows = await db
		.select()
		.from(deploymentVersion)
		.where(and(...where))
		.orderBy(desc(deploymentVersion.versionNumber))
		.limit(q.limit + 1);
	const more = rows.length > q.limit;
	const page = rows.slice(0, q.limit);
	const last = page[page.length - 1];
	return { rows: page, nextCursor: more && last ? encodeCursor([last.versionNumber]) : null };
}

export async function versionDtos(dep: Deployment, rows: DeploymentVersion[]) {
	const [routes, names] = await Promise.all([routesOf([dep.id]).then((m) => m.get(dep.id) ?? []), userNames(rows.map((r) => r.createdBy))]);
	return rows.map((v) => toVersionDto(v, { routes, names }));
}

export async function releaseOf(v: DeploymentVersion): Promise<DeploymentRelease> {
	const [r] = await db.select().from(deploymentRelease).where(eq(deploymentRelease.versionId, v.id));
	if (!r) throw notFound('release (the version has no built artifact)');
	return r;
}

export async function getRelease(orgId: string, id: string, depId?: string): Promise<DeploymentRelease> {
	const where: SQL[] = [eq(deploymentRelease.organizationId, orgId), eq(deploymentRelease.id, id)];
	if (depId) where.push(eq(deploymentRelease.deploymentId, depId));
	const [r] = await db.select().from(deploymentRelease).where(and(...where));
	if (!r) throw notFound('release');
	return r;
}

export async function listReleases(dep: Deployment) {
	return db.select().from(deploymentRelease).where(eq(deploymentRelease.deploymentId, dep.id)).orderBy(desc(deploymentRelease.createdAt)).limit(100);
}

/** Can this version serve traffic? 409 when not built, 410 when its artifact was collected. */
export function assertServable(v: DeploymentVersion): void {
	if (v.state !== 'ready' && v.state !== 'archived') {
		throw new ApiError(409, 'VERSION_NOT_READY', `version ${v.versionNumber} is ${v.state}; only ready versions can serve traffic`, { state: v.state });
	}
	if (!v.artifactSha256 || !hasBlob(v.artifactSha256)) {
		throw new ApiError(410, 'ARTIFACT_GONE', `the artifact of version ${v.versionNumber} was garbage-collected after its retention period; publish again`, { version_id: v.id });
	}
}

/**
 * Points an environment at a version. Dynamic versions get a healthy runtime first (so traffic
 * never moves to something that does not answer); the switch itself is one row update.
 */
export async function promoteVersion(actor: Actor | null, dep: Deployment, v: DeploymentVersion, environment = PRODUCTION, opts: { rollback?: boolean } = {}): Promise<Deployment> {
	assertServable(v);
	if (v.kind === 'dynamic') {
		const { ensureRuntime } = await import('./runtime');
		await ensureRuntime(dep, v);
	} else {
		await ensureSite(v.artifactSha256!);
	}
	const now = new Date();
	const previous = await db.transaction(async (tx) => {
		const [cur] = await tx
			.select()
			.from(deploymentRoute)
			.where(and(eq(deploymentRoute.deploymentId, dep.id), eq(deploymentRoute.environment, environment)))
			.for('update');
		if (cur?.versionId === v.id) return cur.previousVersionId ?? null;
		const prev = cur?.versionId ?? null;
		await tx
			.insert(deploymentRoute)
			.values({ deploymentId: dep.id, environment, versionId: v.id, previousVersionId: prev, promotedAt: now, promotedBy: actor?.principal.userId ?? null })
			.onConflictDoUpdate({
				target: [deploymentRoute.deploymentId, deploymentRoute.environment],
				set: { versionId: v.id, previousVersionId: prev, promotedAt: now, promotedBy: actor?.principal.userId ?? null }
			});
		await tx.update(deploymentVersion).set({ promotedAt: now, updatedAt: now }).where(eq(deploymentVersion.id, v.id));
		if (environment === PRODUCTION) await tx.update(deployment).set({ state: 'running', updatedAt: now }).where(eq(deployment.id, dep.id));
		return prev;
	});
	await emit({
		organizationId: dep.organizationId,
		workspaceId: dep.workspaceId,
		type: 'deployment.published',
		resourceType: 'deployment',
		resourceId: dep.id,
		data: {
			deployment_id: dep.id,
			version_id: v.id,
			version_number: v.versionNumber,
			environment,
			previous_version_id: previous,
			rollback: !!opts.rollback,
			url: appUrls(await orgSlug(dep.organizationId), dep.slug, environment).url
		}
	});
	if (actor) {
		await audit(auditActorOf(actor), {
			action: opts.rollback ? 'deployment.rolled_back' : 'deployment.promoted',
			resourceType: 'deployment',
			resourceId: dep.id,
			workspaceId: dep.workspaceId,
			metadata: { version_id: v.id, version_number: v.versionNumber, environment, previous_version_id: previous }
		});
	}
	const { retireRuntimes } = await import('./runtime');
	retireRuntimes(dep.id).catch((e) => console.error('retiring runtimes failed', e));
	return (await db.select().from(deployment).where(eq(deployment.id, dep.id)))[0];
}

/** Rolls an environment back: to the given version, else the one it served before. */
export async function rollback(actor: Actor, dep: Deployment, input: { version_id?: string; environment?: string }): Promise<Deployment> {
	const environment = input.environment ?? PRODUCTION;
	let target: DeploymentVersion;
	if (input.version_id) target = await getVersion(dep, input.version_id);
	else {
		const [route] = await db.select().from(deploymentRoute).where(and(eq(deploymentRoute.deploymentId, dep.id), eq(deploymentRoute.environment, environment)));
		if (!route) throw conflict(`the ${environment} environment has no active version to roll back from`);
		let candidate: DeploymentVersion | undefined;
		if (route.previousVersionId && route.previousVersionId !== route.versionId) {
			[candidate] = await db.select().from(deploymentVersion).where(eq(deploymentVersion.id, route.previousVersionId));
		}
		if (!candidate) {
			const [cur] = await db.select().from(deploymentVersion).where(eq(deploymentVersion.id, route.versionId));
			[candidate] = await db
				.select()
				.from(deploymentVersion)
				.where(and(eq(deploymentVersion.deploymentId, dep.id), eq(deploymentVersion.state, 'ready'), lt(deploymentVersion.versionNumber, cur?.versionNumber ?? 0)))
				.orderBy(desc(deploymentVersion.versionNumber))
				.limit(1);
		}
		if (!candidate) throw conflict('there is no earlier ready version to roll back to');
		target = candidate;
	}
	return promoteVersion(actor, dep, target, environment, { rollback: true });
}

export async function archiveVersion(actor: Actor, dep: Deployment, v: DeploymentVersion): Promise<DeploymentVersion> {
	const active = await db.select().from(deploymentRoute).where(eq(deploymentRoute.versionId, v.id));
	if (active.length) throw conflict(`version ${v.versionNumber} is active in ${active.map((r) => r.environment).join(', ')}; promote another version first`);
	if (v.state === 'archived') return v;
	if (v.state !== 'ready' && v.state !== 'failed') throw new ApiError(409, 'VERSION_NOT_READY', `version ${v.versionNumber} is ${v.state}`);
	const now = new Date();
	const [row] = await db.update(deploymentVersion).set({ state: 'archived', archivedAt: now, updatedAt: now }).where(eq(deploymentVersion.id, v.id)).returning();
	await audit(auditActorOf(actor), { action: 'deployment.version_archived', resourceType: 'deployment', resourceId: dep.id, workspaceId: dep.workspaceId, metadata: { version_id: v.id } });
	const { retireRuntimes } = await import('./runtime');
	retireRuntimes(dep.id).catch(() => {});
	return row;
}

// ------------------------------------------------------------------------------------------
// Environment variables

const digestKey = () => hmacKey('deployment-env');
const digest = (key: string, value: string) => crypto.createHmac('sha256', digestKey()).update(`${key}\u0000${value}`).digest('hex').slice(0, 32);

export async function listEnv(dep: Deployment, environment = PRODUCTION) {
	const rows = await db
		.select()
		.from(deploymentEnvVar)
		.where(and(eq(deploymentEnvVar.deploymentId, dep.id), eq(deploymentEnvVar.environment, environment)))
		.orderBy(deploymentEnvVar.key);
	return rows.map((r) => {
		let preview = '••••';
		if (!r.isSecret) {
			const value = unseal(r.valueSealed);
			preview = value.length <= 4 ? '••••' : `${value.slice(0, 4)}…`;
		}
		return { key: r.key, value_preview: preview, is_secret: r.isSecret, environment: r.environment, created_at: iso(r.createdAt), updated_at: iso(r.updatedAt) };
	});
}

export async function setEnv(actor: Actor, dep: Deployment, input: z.infer<typeof envSetSchema>) {
	const environment = input.environment ?? PRODUCTION;
	const entries: { key: string; value: string; isSecret: boolean }[] = [];
	for (const [k, v] of Object.entries(input.env ?? {})) entries.push({ key: k, value: v, isSecret: input.is_secret ?? false });
	for (const v of input.vars ?? []) entries.push({ key: v.key, value: v.value, isSecret: v.is_secret ?? input.is_secret ?? false });
	if (input.key !== undefined && input.value !== undefined) entries.push({ key: input.key, value: input.value, isSecret: input.is_secret ?? false });
	const bad = entries.filter((e) => !ENV_KEY_RE.test(e.key)).map((e) => e.key);
	if (bad.length) throw validationError('invalid variable names', { env: bad.map((k) => `${k}: letters, digits and _, not starting with a digit`) });
	if (entries.some((e) => e.key === 'PORT')) throw validationError('PORT is set by Hangar', { env: ['PORT is reserved'] });
	const now = new Date();
	await db.transaction(async (tx) => {
		for (const e of entries) {
			await tx
				.insert(deploymentEnvVar)
				.values({ deploymentId: dep.id, environment, key: e.key, valueSealed: sealChaCha(e.value), isSecret: e.isSecret })
				.onConflictDoUpdate({
					target: [deploymentEnvVar.deploymentId, deploymentEnvVar.environment, deploymentEnvVar.key],
					set: { valueSealed: sealChaCha(e.value), isSecret: e.isSecret, updatedAt: now }
				});
		}
	});
	await audit(auditActorOf(actor), { action: 'deployment.env_updated', resourceType: 'deployment', resourceId: dep.id, workspaceId: dep.workspaceId, metadata: { environment, keys: entries.map((e) => e.key) } });
	return listEnv(dep, environment);
}

export async function deleteEnv(actor: Actor, dep: Deployment, key: string, environment = PRODUCTION): Promise<boolean> {
	const gone = await db
		.delete(deploymentEnvVar)
		.where(and(eq(deploymentEnvVar.deploymentId, dep.id), eq(deploymentEnvVar.environment, environment), eq(deploymentEnvVar.key, key)))
		.returning({ id: deploymentEnvVar.id });
	if (!gone.length) throw notFound('variable');
	await audit(auditActorOf(actor), { action: 'deployment.env_deleted', resourceType: 'deployment', resourceId: dep.id, workspaceId: dep.workspaceId, metadata: { environment, key } });
	return true;
}

/** The environment's variables now, sealed as one value, plus keyed digests for diffs. */
export async function freezeEnv(depId: string, environment: string): Promise<{ sealed: string | null; digest: Record<string, string> }> {
	const rows = await db
		.select()
		.from(deploymentEnvVar)
		.where(and(eq(deploymentEnvVar.deploymentId, depId), eq(deploymentEnvVar.environment, environment)));
	if (!rows.length) return { sealed: null, digest: {} };
	const vars: Record<string, string> = {};
	const dg: Record<string, string> = {};
	for (const r of rows) {
		vars[r.key] = unseal(r.valueSealed);
		dg[r.key] = digest(r.key, vars[r.key]);
	}
	return { sealed: sealChaCha(JSON.stringify(vars)), digest: dg };
}

export function frozenEnv(v: DeploymentVersion): Record<string, string> {
	return v.envSealed ? (JSON.parse(unseal(v.envSealed)) as Record<string, string>) : {};
}

// ------------------------------------------------------------------------------------------
// Diff between two versions

export async function diffVersions(a: DeploymentVersion, b: DeploymentVersion) {
	const [ma, mb] = await Promise.all([readManifest(a.sourceSha256), readManifest(b.sourceSha256)]);
	const files = { added: [] as string[], removed: [] as string[], changed: [] as string[], available: !!(ma && mb) };
	if (ma && mb) {
		for (const [p, e] of Object.entries(mb.files)) {
			if (e.type === 'dir') continue;
			const o = ma.files[p];
			if (!o || o.type === 'dir') files.added.push(p);
			else if (o.sha256 !== e.sha256 || o.target !== e.target || o.mode !== e.mode) files.changed.push(p);
		}
		for (const [p, e] of Object.entries(ma.files)) if (e.type !== 'dir' && (!mb.files[p] || mb.files[p].type === 'dir')) files.removed.push(p);
		files.added.sort();
		files.removed.sort();
		files.changed.sort();
	}
	const envDiff = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
	for (const [k, d] of Object.entries(b.envDigest)) {
		if (!(k in a.envDigest)) envDiff.added.push(k);
		else if (a.envDigest[k] !== d) envDiff.changed.push(k);
	}
	for (const k of Object.keys(a.envDigest)) if (!(k in b.envDigest)) envDiff.removed.push(k);
	const config: { key: string; from: unknown; to: unknown }[] = [];
	const keys = new Set([...Object.keys(a.config), ...Object.keys(b.config), 'kind', 'template_id']);
	for (const k of [...keys].sort()) {
		const from = k === 'kind' ? a.kind : k === 'template_id' ? a.templateId : (a.config as unknown as Record<string, unknown>)[k];
		const to = k === 'kind' ? b.kind : k === 'template_id' ? b.templateId : (b.config as unknown as Record<string, unknown>)[k];
		if (JSON.stringify(from ?? null) !== JSON.stringify(to ?? null)) config.push({ key: k, from: from ?? null, to: to ?? null });
	}
	return {
		from: { id: a.id, version_number: a.versionNumber, source_sha256: a.sourceSha256, artifact_sha256: a.artifactSha256 },
		to: { id: b.id, version_number: b.versionNumber, source_sha256: b.sourceSha256, artifact_sha256: b.artifactSha256 },
		same_source: !!a.sourceSha256 && a.sourceSha256 === b.sourceSha256,
		same_artifact: !!a.artifactSha256 && a.artifactSha256 === b.artifactSha256,
		files,
		env: envDiff,
		config
	};
}

// ------------------------------------------------------------------------------------------
// Lookups used by serving

export interface ServeRoute {
	deployment: Deployment;
	version: DeploymentVersion;
	environment: string;
}

/** The version an app URL serves now (null: no such deployment/environment, or nothing promoted). */
export async function resolveServeRoute(orgSlugValue: string, slug: string, envLabelValue: string): Promise<ServeRoute | { deployment: Deployment; version: null; environment: string } | null> {
	const [org] = await db.select({ id: organization.id }).from(organization).where(eq(organization.slug, orgSlugValue));
	if (!org) return null;
	const [dep] = await db
		.select()
		.from(deployment)
		.where(and(eq(deployment.organizationId, org.id), eq(deployment.slug, slug), isNull(deployment.deletedAt)));
	if (!dep) return null;
	const routes = await db.select().from(deploymentRoute).where(eq(deploymentRoute.deploymentId, dep.id));
	const route = routes.find((r) => envLabel(r.environment) === envLabelValue);
	if (!route) return { deployment: dep, version: null, environment: envLabelValue || PRODUCTION };
	const [v] = await db.select().from(deploymentVersion).where(eq(deploymentVersion.id, route.versionId));
	if (!v) return { deployment: dep, version: null, environment: route.environment };
	return { deployment: dep, version: v, environment: route.environment };
}

/** Versions whose artifacts must be kept: any non-archived version, and any version a route serves. */
export async function protectedArtifacts(): Promise<Set<string>> {
	const rows = await db
		.select({ a: deploymentVersion.artifactSha256, s: deploymentVersion.sourceSha256 })
		.from(deploymentVersion)
		.where(or(ne(deploymentVersion.state, 'archived'), sql`${deploymentVersion.id} in (select version_id from deployment_route)`));
	const out = new Set<string>();
	for (const r of rows) {
		if (r.a) out.add(r.a);
		if (r.s) out.add(r.s);
	}
	return out;
}


/** A version seen as a build (the SDK's builds API). */
export function toBuildDto(v: DeploymentVersion) {
	return {
		id: v.buildId,
		deployment_id: v.deploymentId,
		version_id: v.id,
		version_number: v.versionNumber,
		state: v.state === 'ready' || v.state === 'archived' ? 'succeeded' : v.state === 'failed' ? 'failed' : v.state === 'building' ? 'building' : 'queued',
		source_sandbox_id: v.sourceSandboxId,
		source_sha256: v.sourceSha256,
		artifact_sha256: v.artifactSha256,
		install_command: v.config.install_command,
		build_command: v.config.build_command,
		error: v.error,
		log_uri: `/api/v1/deployments/${v.deploymentId}/versions/${v.id}/logs`,
		started_at: iso(v.buildStartedAt),
		finished_at: iso(v.buildFinishedAt),
		duration_ms: v.buildStartedAt && v.buildFinishedAt ? v.buildFinishedAt.getTime() - v.buildStartedAt.getTime() : null,
		created_at: iso(v.createdAt)
	};
}
