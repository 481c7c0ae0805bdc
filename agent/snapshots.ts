/**
 * Snapshots of a sandbox's writable layer, stored on this host.
 *
 *   <data>/snapshots/objects/<k[0:2]>/<k>   content-addressed files (k = sha256 of the bytes plus
 *                                           mode, owner and mtime), immutable, shared by snapshots
 *   <data>/snapshots/snaps/<id>/tree/        the captured upper dir; every regular file is a
 *                                           hardlink to its object (so identical files across
 *                                           snapshots are stored once)
 *   <data>/snapshots/snaps/<id>/meta.json    id, sandbox, template (+hash), sizes, object keys
 *   <data>/snapshots/.staging-<id>/          a snapshot being taken (removed at start-up)
 *
 * Capture: the sandbox's cgroup is frozen (processes stop at a safe point, nothing is mid-write)
 * while `cp -a` copies the upper dir (reflinks where the filesystem has them), then thawed; the
 * rest (ownership normalisation, hashing, dedup) runs with the sandbox live again. Ownership is
 * stored canonically: the sandbox's host uid/gid becomes 1000 (its uid inside), and is mapped to
 * the new sandbox's host uid on restore.
 *
 * Restore: `sandbox.create {from_snapshot}` boots a cold sandbox whose fresh upper dir is seeded
 * with a copy of the tree before the overlay is mounted (objects are never exposed to a sandbox:
 * the overlay writes its upper files in place, so they must be private copies). Hardlinks between
 * paths inside one snapshot are not kept (each path gets its own copy).
 *
 * Only the filesystem is captured (kind 'filesystem'): processes and memory are not. CRIU would
 * be needed for that, and Debian 12's criu 3.17 does not run on current kernels (vDSO layout).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lchown, lstat, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SnapshotCreateParams, SnapshotInfo } from '../src/lib/protocol/index';
import { SANDBOX_UID } from './drivers/bwrap';
import { fault } from './errors';
import { log } from './log';
import type { SandboxManager } from './sandboxes';
import type { TemplateStore } from './templates/store';

const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

interface Meta extends SnapshotInfo {
	objects: string[];
}

function run(cmd: string, args: string[]): Promise<void> {
	return new Promise((resolve, reject) => {
		const p = spawn(cmd, args, { env: { PATH: SYS_PATH, LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
		let err = '';
		p.stderr!.on('data', (c: Buffer) => {
			if (err.length < 4096) err += c.toString('utf8');
		});
		p.on('error', reject);
		p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed (${code}): ${err.trim()}`))));
	});
}

function hashFile(file: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const h = createHash('sha256');
		createReadStream(file)
			.on('data', (c) => h.update(c))
			.on('error', reject)
			.on('end', () => resolve(h.digest('hex')));
	});
}

/** A tiny async mutex: object linking and garbage collection never interleave. */
class Lock {
	private tail: Promise<unknown> = Promise.resolve();
	run<T>(fn: () => Promise<T>): Promise<T> {
		const next = this.tail.then(fn, fn);
		this.tail = next.catch(() => undefined);
		return next;
	}
}

export class SnapshotStore {
	readonly root: string;
	private readonly objects: string;
	private readonly snaps: string;
	private readonly objectLock = new Lock();
	private readonly creating = new Map<string, Promise<SnapshotInfo>>();
	/** One capture at a time per sandbox. */
	private readonly perSandbox = new Map<string, Promise<unknown>>();

	constructor(
		dataDir: string,
		private readonly manager: SandboxManager,
		private readonly templates: TemplateStore
	) {
		this.root = path.join(dataDir, 'snapshots');
		this.objects = path.join(this.root, 'objects');
		this.snaps = path.join(this.root, 'snaps');
	}

	async init(): Promise<void> {
		await mkdir(this.objects, { recursive: true, mode: 0o700 });
		await mkdir(this.snaps, { recursive: true, mode: 0o700 });
		for (const e of await readdir(this.root)) {
			if (e.startsWith('.staging-')) await rm(path.join(this.root, e), { recursive: true, force: true });
		}
	}

	private dir(id: string): string {
		if (!ID_RE.test(id)) throw fault('INVALID_PARAMS', 'invalid snapshot id');
		return path.join(this.snaps, id);
	}

	async get(id: string): Promise<SnapshotInfo> {
		const meta = await this.meta(id);
		if (!meta) throw fault('SNAPSHOT_NOT_FOUND', `snapshot ${id} not found on this host`);
		const { objects: _objects, ...info } = meta;
		return info;
	}

	private async meta(id: string): Promise<Meta | null> {
		try {
			return JSON.parse(await readFile(path.join(this.dir(id), 'meta.json'), 'utf8')) as Meta;
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
			throw e;
		}
	}

	async list(): Promise<SnapshotInfo[]> {
		const out: SnapshotInfo[] = [];
		for (const id of await readdir(this.snaps)) {
			const m = await this.meta(id).catch(() => null);
			if (m) {
				const { objects: _o, ...info } = m;
				out.push(info);
			}
		}
		return out;
	}

	/** Bytes used by the object store (each unique file once). */
	async storedBytes(): Promise<number> {
		let total = 0;
		for (const d of await readdir(this.objects).catch(() => [] as string[])) {
			for (const f of await readdir(path.join(this.objects, d)).catch(() => [] as string[])) {
				total += (await stat(path.join(this.objects, d, f)).catch(() => ({ size: 0 }))).size;
			}
		}
		return total;
	}

	create(p: SnapshotCreateParams): Promise<SnapshotInfo> {
		if (!p || typeof p.id !== 'string' || typeof p.sandbox_id !== 'string') throw fault('INVALID_PARAMS', 'snapshot.create needs id and sandbox_id');
		this.dir(p.id);
		let job = this.creating.get(p.id);
		if (!job) {
			const prev = this.perSandbox.get(p.sandbox_id) ?? Promise.resolve();
			job = prev.catch(() => undefined).then(() => this.capture(p));
			const settled = job.catch(() => undefined);
			this.perSandbox.set(p.sandbox_id, settled);
			this.creating.set(p.id, job);
			void settled.then(() => {
				this.creating.delete(p.id);
				if (this.perSandbox.get(p.sandbox_id) === settled) this.perSandbox.delete(p.sandbox_id);
			});
		}
		return job;
	}

	private async capture(p: SnapshotCreateParams): Promise<SnapshotInfo> {
		const existing = await this.meta(p.id);
		if (existing) {
			const { objects: _o, ...info } = existing;
			return info;
		}
		const sb = this.manager.get(p.sandbox_id);
		const upper = path.join(sb.dir, 'upper');
		const staging = path.join(this.root, `.staging-${p.id}`);
		const tree = path.join(staging, 'tree');
		const t0 = performance.now();
		let freezeMs = 0;
		await rm(staging, { recursive: true, force: true });
		await mkdir(staging, { recursive: true, mode: 0o700 });
		try {
			// 1. Consistent copy of the writable layer: processes frozen while it is copied.
			const wasPaused = sb.state === 'paused';
			const f0 = performance.now();
			if (!wasPaused) await sb.cg.freeze();
			try {
				await run('cp', ['-a', '--reflink=auto', '--', upper, tree]);
			} finally {
				// Thaw unless someone paused it meanwhile (then it stays frozen, as asked).
				if (!wasPaused && sb.state === 'running' && !sb.destroying) await sb.cg.thaw().catch(() => undefined);
				freezeMs = performance.now() - f0;
			}
			// 2. Canonical ownership, hashing and dedup into the object store (sandbox running).
			const files: { rel: string; key: string; size: number }[] = [];
			const entries: string[] = [];
			let sizeBytes = 0;
			let storedBytes = 0;
			const walk = async (dir: string, rel: string): Promise<void> => {
				for (const name of (await readdir(dir)).sort()) {
					const abs = path.join(dir, name);
					const r = rel ? `${rel}/${name}` : name;
					let st = await lstat(abs, { bigint: true });
					const uid = Number(st.uid) === sb.hostUid ? SANDBOX_UID : Number(st.uid);
					const gid = Number(st.gid) === sb.hostUid ? SANDBOX_UID : Number(st.gid);
					if (uid !== Number(st.uid) || gid !== Number(st.gid)) {
						await lchown(abs, uid, gid);
						st = await lstat(abs, { bigint: true });
					}
					const mode = Number(st.mode);
					if (st.isDirectory()) {
						entries.push(`d ${r} ${mode.toString(8)} ${uid}:${gid}`);
						await walk(abs, r);
					} else if (st.isFile()) {
						const sha = await hashFile(abs);
						const key = `${sha}-${mode.toString(8)}-${uid}-${gid}-${st.mtimeNs}`;
						files.push({ rel: r, key, size: Number(st.size) });
						sizeBytes += Number(st.size);
						entries.push(`f ${r} ${key}`);
					} else {
						entries.push(`o ${r} ${mode.toString(8)} ${uid}:${gid} ${st.rdev}`);
					}
				}
			};
			await walk(tree, '');
			await this.objectLock.run(async () => {
				for (const f of files) {
					const obj = path.join(this.objects, f.key.slice(0, 2), f.key);
					const abs = path.join(tree, f.rel);
					const have = await stat(obj).catch(() => null);
					if (have) {
						const mine = await stat(abs);
						if (mine.ino !== have.ino) {
							await unlink(abs);
							await link(obj, abs);
						}
					} else {
						await mkdir(path.dirname(obj), { recursive: true, mode: 0o700 });
						await link(abs, obj);
						storedBytes += f.size;
					}
				}
			});
			const contentHash = createHash('sha256').update(entries.join('\n')).digest('hex');
			const root = this.templates.root(sb.template);
			const meta: Meta = {
				id: p.id,
				sandbox_id: p.sandbox_id,
				kind: 'filesystem',
				template: sb.template,
				template_hash: root.hash,
				created_at: new Date().toISOString(),
				size_bytes: sizeBytes,
				stored_bytes: storedBytes,
				files: files.length,
				content_hash: contentHash,
				freeze_ms: Math.round(freezeMs * 100) / 100,
				duration_ms: Math.round((performance.now() - t0) * 100) / 100,
				objects: [...new Set(files.map((f) => f.key))]
			};
			await writeFile(path.join(staging, 'meta.json'), JSON.stringify(meta));
			await rename(staging, this.dir(p.id));
			log.info('snapshot taken', { id: p.id, sandbox: p.sandbox_id, size: sizeBytes, stored: storedBytes, freeze_ms: meta.freeze_ms, ms: meta.duration_ms });
			const { objects: _o, ...info } = meta;
			return info;
		} catch (e) {
			await rm(staging, { recursive: true, force: true }).catch(() => undefined);
			if ((e as { code?: string }).code === 'SANDBOX_NOT_FOUND') throw e;
			throw fault('INTERNAL', `snapshot failed: ${(e as Error).message}`);
		}
	}

	/** Removes a snapshot and the objects no other snapshot uses. */
	async delete(id: string): Promise<boolean> {
		await this.creating.get(id)?.catch(() => undefined);
		const meta = await this.meta(id);
		const dir = this.dir(id);
		if (!meta) {
			await rm(dir, { recursive: true, force: true });
			return false;
		}
		const trash = path.join(this.root, `.staging-deleted-${id}-${Date.now()}`);
		await rename(dir, trash);
		await rm(trash, { recursive: true, force: true });
		await this.objectLock.run(async () => {
			for (const key of meta.objects) {
				const obj = path.join(this.objects, key.slice(0, 2), key);
				const st = await stat(obj).catch(() => null);
				if (st && st.nlink <= 1) await unlink(obj).catch(() => undefined);
			}
		});
		return true;
	}

	/**
	 * Seeds a new sandbox's (not yet mounted) upper dir with a snapshot: private copies of every
	 * file, then the canonical owner 1000 becomes the new sandbox's host uid.
	 */
	async seed(id: string, template: string, upper: string, hostUid: number): Promise<void> {
		const meta = await this.meta(id);
		if (!meta) throw fault('SNAPSHOT_NOT_FOUND', `snapshot ${id} not found on this host`);
		if (meta.template !== template)
			throw fault('INVALID_PARAMS', `snapshot ${id} was taken from template ${meta.template}, not ${template}`);
		const tree = path.join(this.dir(id), 'tree');
		await run('cp', ['-R', '--preserve=mode,ownership,timestamps,xattr', '--reflink=auto', '--', `${tree}/.`, upper]);
		await run('chown', ['-hR', `--from=${SANDBOX_UID}`, String(hostUid), '--', upper]);
		await run('chown', ['-hR', `--from=:${SANDBOX_UID}`, `:${hostUid}`, '--', upper]);
	}
}
