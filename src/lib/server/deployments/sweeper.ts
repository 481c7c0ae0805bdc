// Background work for deployments: the runtime reconciler, failing builds whose replica died,
// and retention (archive old versions, then collect artifacts no live version uses).
import os from 'node:os';
import { and, desc, eq, inArray, isNull, like, ne } from 'drizzle-orm';
import { db } from '../db';
import { deploymentBlob, deploymentRoute, deploymentVersion } from '../db/schema';
import { onStart, onStop } from '../startup';
import { failOrphanedBuilds, REPLICA_ID } from './build';
import { reconcileOnce } from './runtime';
import { protectedArtifacts } from './service';
import { removeBlob } from './store';

const num = (v: string | undefined, d: number) => (v !== undefined && v !== '' && Number.isFinite(Number(v)) ? Number(v) : d);
export const retention = () => ({
	keepVersions: num(process.env.HANGAR_DEPLOY_KEEP_VERSIONS, 20),
	artifactMs: num(process.env.HANGAR_DEPLOY_ARTIFACT_RETENTION_DAYS, 30) * 86_400_000
});

/**
 * Archives ready versions beyond the newest `keepVersions` of each deployment (never one an
 * environment serves or would roll back to), then removes blobs that only archived (or no)
 * versions use once the newest of those was archived longer ago than the retention period.
 */
export async function gcOnce(now = new Date()): Promise<{ archived: number; removed: number }> {
	const { keepVersions, artifactMs } = retention();
	const routes = await db.select().from(deploymentRoute);
	const pinned = new Set<string>();
	for (const r of routes) {
		pinned.add(r.versionId);
		if (r.previousVersionId) pinned.add(r.previousVersionId);
	}
	let archived = 0;
	const deps = await db.selectDistinct({ id: deploymentVersion.deploymentId }).from(deploymentVersion).where(eq(deploymentVersion.state, 'ready'));
	for (const d of deps) {
		const ready = await db
			.select({ id: deploymentVersion.id })
			.from(deploymentVersion)
			.where(and(eq(deploymentVersion.deploymentId, d.id), eq(deploymentVersion.state, 'ready')))
			.orderBy(desc(deploymentVersion.versionNumber));
		const old = ready.slice(keepVersions).filter((v) => !pinned.has(v.id));
		if (old.length) {
			await db
				.update(deploymentVersion)
				.set({ state: 'archived', archivedAt: now, updatedAt: now })
				.where(and(inArray(deploymentVersion.id, old.map((v) => v.id)), eq(deploymentVersion.state, 'ready')));
			archived += old.length;
		}
	}

	const keep = await protectedArtifacts();
	// When each blob was last used: the newest archive (or last change) of the versions using it.
	const lastUse = new Map<string, number>();
	const versions = await db
		.select({ a: deploymentVersion.artifactSha256, s: deploymentVersion.sourceSha256, archivedAt: deploymentVersion.archivedAt, updatedAt: deploymentVersion.updatedAt })
		.from(deploymentVersion);
	for (const v of versions) {
		const at = (v.archivedAt ?? v.updatedAt).getTime();
		for (const sha of [v.a, v.s]) if (sha) lastUse.set(sha, Math.max(lastUse.get(sha) ?? 0, at));
	}
	const blobs = await db.select().from(deploymentBlob).where(isNull(deploymentBlob.deletedAt));
	let removed = 0;
	for (const b of blobs) {
		if (keep.has(b.sha256)) continue;
		const used = lastUse.get(b.sha256);
		// Bytes no version points at (a build that failed before recording them) go after a day.
		const window = used !== undefined ? artifactMs : Math.max(artifactMs, 86_400_000);
		if (now.getTime() - (used ?? b.createdAt.getTime()) < window) continue;
		await removeBlob(b.sha256);
		removed++;
	}
	return { archived, removed };
}

/** At start: builds a previous (now dead) process on this machine left running are over at once. */
async function failOwnLeftovers(): Promise<number> {
	const prefix = `${os.hostname()}:`;
	const rows = await db
		.select({ id: deploymentVersion.id, owner: deploymentVersion.buildOwner })
		.from(deploymentVersion)
		.where(and(inArray(deploymentVersion.state, ['created', 'building']), like(deploymentVersion.buildOwner, `${prefix}%`), ne(deploymentVersion.buildOwner, REPLICA_ID)));
	const dead = rows.filter((r) => !processAlive(Number(r.owner?.split(':')[1])));
	return dead.length ? failOrphanedBuilds(0, new Set(dead.map((r) => r.id))) : 0;
}

function processAlive(pid: number): boolean {
	if (!Number.isInteger(pid) || pid <= 0) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}

const timers: NodeJS.Timeout[] = [];

onStart(() => {
	const every = (ms: number, fn: () => Promise<unknown>, what: string) => {
		const t = setInterval(() => fn().catch((e) => console.error(`${what} failed`, e)), ms);
		t.unref();
		timers.push(t);
	};
	failOwnLeftovers().catch((e) => console.error('failing interrupted builds failed', e));
	every(num(process.env.HANGAR_DEPLOY_RECONCILE_MS, 5000), reconcileOnce, 'runtime reconcile');
	every(30_000, () => failOrphanedBuilds(), 'orphaned build sweep');
	every(num(process.env.HANGAR_DEPLOY_GC_INTERVAL_SEC, 3600) * 1000, () => gcOnce(), 'deployment artifact GC');
});

onStop(() => {
	for (const t of timers) clearInterval(t);
});

