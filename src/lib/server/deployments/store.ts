// Blob store for deployments: source snapshots and release artifacts as tar files named by their
// sha256 (stored once however many versions use them), each with a manifest of its files
// (path → sha256, size, mode) for diffs and ETags, and static sites unpacked next to them.
//
//   <data dir>/deployments/blobs/<sha256>.tar
//   <data dir>/deployments/blobs/<sha256>.files.json
//   <data dir>/deployments/sites/<sha256>/…        (static artifacts, unpacked on first use)
//
// Several replicas need a shared data directory (or volume) for this store; see ARCHITECTURE.md.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { db } from '../db';
import { deploymentBlob } from '../db/schema';
import { env } from '../env';
import { TarManifestParser, type ManifestEntry } from './tar';

export type BlobKind = 'source' | 'static' | 'dynamic';
export interface Manifest {
	files: Record<string, ManifestEntry>;
}
export interface StoredBlob {
	sha256: string;
	size: number;
	files: number;
	/** Sum of regular file sizes. */
	totalBytes: number;
	manifest: Manifest;
	/** False when these exact bytes were already stored. */
	fresh: boolean;
}

const root = () => path.join(env.dataDir, 'deployments');
const blobsDir = () => path.join(root(), 'blobs');
const sitesDir = () => path.join(root(), 'sites');
export const blobPath = (sha: string) => path.join(blobsDir(), `${sha}.tar`);
const manifestPath = (sha: string) => path.join(blobsDir(), `${sha}.files.json`);
export const siteDir = (sha: string) => path.join(sitesDir(), sha);
const SHA_RE = /^[0-9a-f]{64}$/;

export const blobUri = (sha: string) => `hangar://deployments/blobs/${sha}.tar`;

/** Stores a tar stream (hashing and indexing it on the way) and records it; limit in bytes. */
export async function ingestTar(stream: Readable, kind: BlobKind, limit: number): Promise<StoredBlob> {
	await fsp.mkdir(blobsDir(), { recursive: true });
	const tmp = path.join(blobsDir(), `.in-${crypto.randomUUID()}`);
	const hash = crypto.createHash('sha256');
	const parser = new TarManifestParser();
	let size = 0;
	const out = fs.createWriteStream(tmp, { mode: 0o600 });
	try {
		await new Promise<void>((resolve, reject) => {
			stream.on('data', (chunk: Buffer) => {
				size += chunk.length;
				if (size > limit) {
					stream.destroy();
					reject(new Error(`the archive is larger than ${Math.round(limit / 1024 / 1024)} MiB`));
					return;
				}
				hash.update(chunk);
				parser.push(chunk);
				if (!out.write(chunk)) {
					stream.pause();
					out.once('drain', () => stream.resume());
				}
			});
			stream.on('error', reject);
			stream.on('end', () => out.end());
			out.on('finish', resolve);
			out.on('error', reject);
		});
		const sha256 = hash.digest('hex');
		const manifest: Manifest = { files: parser.entries() };
		const target = blobPath(sha256);
		let fresh = false;
		if (fs.existsSync(target)) await fsp.rm(tmp, { force: true });
		else {
			await fsp.writeFile(manifestPath(sha256), JSON.stringify(manifest));
			await fsp.rename(tmp, target);
			fresh = true;
		}
		if (!fs.existsSync(manifestPath(sha256))) await fsp.writeFile(manifestPath(sha256), JSON.stringify(manifest));
		await db
			.insert(deploymentBlob)
			.values({ sha256, kind, sizeBytes: size })
			.onConflictDoUpdate({ target: deploymentBlob.sha256, set: { deletedAt: null } });
		const entries = Object.values(manifest.files);
		return {
			sha256,
			size,
			files: entries.filter((e) => e.type === 'file').length,
			totalBytes: entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0),
			manifest,
			fresh
		};
	} catch (err) {
		out.destroy();
		await fsp.rm(tmp, { force: true });
		throw err;
	}
}

export function hasBlob(sha: string | null | undefined): boolean {
	return !!sha && SHA_RE.test(sha) && fs.existsSync(blobPath(sha));
}

export async function readManifest(sha: string | null | undefined): Promise<Manifest | null> {
	if (!sha || !SHA_RE.test(sha)) return null;
	try {
		return JSON.parse(await fsp.readFile(manifestPath(sha), 'utf8')) as Manifest;
	} catch {
		return null;
	}
}

const unpacking = new Map<string, Promise<string>>();
/** Sites known to be unpacked (every static request asks: no file-system check on that path). */
const sites = new Set<string>();

/** The unpacked directory of a static artifact (unpacked once, atomically). */
export function ensureSite(sha: string): Promise<string> {
	if (sites.has(sha)) return Promise.resolve(siteDir(sha));
	if (!SHA_RE.test(sha)) return Promise.reject(new Error('bad artifact hash'));
	const dir = siteDir(sha);
	if (fs.existsSync(dir)) {
		sites.add(sha);
		return Promise.resolve(dir);
	}
	let p = unpacking.get(sha);
	if (!p) {
		p = (async () => {
			if (!hasBlob(sha)) throw new Error('artifact is gone');
			await fsp.mkdir(sitesDir(), { recursive: true });
			const tmp = path.join(sitesDir(), `.unpack-${crypto.randomUUID()}`);
			await fsp.mkdir(tmp);
			try {
				await run('tar', ['-x', '-f', blobPath(sha), '-C', tmp, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir']);
				await fsp.rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
					// Another replica (or an earlier run) won the race: theirs is identical.
					if (e.code === 'ENOTEMPTY' || e.code === 'EEXIST') await fsp.rm(tmp, { recursive: true, force: true });
					else throw e;
				});
			} catch (e) {
				await fsp.rm(tmp, { recursive: true, force: true });
				throw e;
			}
			sites.add(sha);
			return dir;
		})().finally(() => unpacking.delete(sha));
		unpacking.set(sha, p);
	}
	return p;
}

/** Removes a blob's bytes (tar, manifest, unpacked site) and marks it deleted. */
export async function removeBlob(sha: string): Promise<void> {
	if (!SHA_RE.test(sha)) return;
	sites.delete(sha);
	await fsp.rm(blobPath(sha), { force: true });
	await fsp.rm(manifestPath(sha), { force: true });
	await fsp.rm(siteDir(sha), { recursive: true, force: true });
	await db.update(deploymentBlob).set({ deletedAt: new Date() }).where(sql`${deploymentBlob.sha256} = ${sha}`);
}

export async function storeUsage(): Promise<{ blobs: number; bytes: number }> {
	const [r] = await db
		.select({ n: sql<number>`count(*)::int`, bytes: sql<number>`coalesce(sum(${deploymentBlob.sizeBytes}), 0)::bigint` })
		.from(deploymentBlob)
		.where(sql`${deploymentBlob.deletedAt} is null`);
	return { blobs: Number(r?.n ?? 0), bytes: Number(r?.bytes ?? 0) };
}

function run(cmd: string, args: string[]): Promise<void> {
	return new Promise((resolve, reject) => {
		const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
		let err = '';
		p.stderr.on('data', (d) => (err += d));
		p.on('error', reject);
		p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.trim().slice(0, 500)}`))));
	});
}
