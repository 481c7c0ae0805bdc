/**
 * Sandbox manager: lifecycle (create/claim, pause/resume, destroy), limits, network, and
 * `spawnInSandbox` — the one way to run anything inside a sandbox (exec, processes, and the
 * files/PTY/TCP pieces built on top).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type {
	Events,
	SandboxCreateParams,
	SandboxCreateResult,
	SandboxInfo,
	SandboxState,
	SandboxStats
} from '../src/lib/protocol/index';
import type { Cgroup, Cgroups } from './cgroups';
import {
	SANDBOX_UID,
	applyEgressRules,
	attachSlirp,
	bootBwrap,
	prepareSandboxDir,
	setHostname,
	type BwrapInstance
} from './drivers/bwrap';
import { fault } from './errors';
import { log } from './log';
import type { TemplateStore } from './templates/store';

export interface Sandbox {
	/** null while the sandbox waits in the warm pool. */
	id: string | null;
	key: string;
	slot: number;
	hostUid: number;
	template: string;
	dir: string;
	cg: Cgroup;
	inst: BwrapInstance;
	state: SandboxState;
	network: boolean;
	slirp: ChildProcess | null;
	hostname: string;
	env: Record<string, string>;
	templateEnv: Record<string, string>;
	limits: { cpus: number; memory_mb: number; pids_max: number };
	startedAt: Date;
	destroying: Promise<void> | null;
}

export interface SpawnOptions {
	/** Working directory inside the sandbox (default /workspace). */
	cwd?: string;
	/** Extra environment (merged over the base env, template env and sandbox env). */
	env?: Record<string, string>;
	/** Uid inside the sandbox; only 1000 is mapped today. */
	uid?: number;
	/** The caller provides a terminal on fd 0 (node-pty): make it the controlling tty. */
	tty?: boolean;
	/** stdio for fds 0-2 (default pipes). */
	stdio?: StdioOptions;
	/** Instead of running argv, connect to this unix socket inside the sandbox and relay stdin/stdout to it. */
	unixRelay?: string;
}

export interface SandboxChild extends ChildProcess {
	/** Resolves once the process runs inside: its host pid (also its process group) and in-sandbox pid. */
	sandboxPid: Promise<{ hostPid: number; pid: number }>;
}

export interface ManagerOptions {
	dataDir: string;
	helper: string;
	cgroups: Cgroups;
	templates: TemplateStore;
	emit: <E extends keyof Events>(name: E, data: Events[E]) => void;
	/** First host uid of this agent's range (one uid per sandbox). */
	uidBase: number;
	maxSandboxes?: number;
}

const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_PIDS_MAX = 512;
const MAX_SLOTS = 9999;

export function hostMemoryMb(): number {
	return Math.floor(os.totalmem() / 1024 / 1024);
}

/** Scale a requested size to this host. */
export function scaleLimits(size: { cpus?: number; memory_mb?: number; pids_max?: number } | undefined) {
	const hostCpus = os.cpus().length || 1;
	const memCap = Math.floor(hostMemoryMb() * 0.8);
	const cpus = Math.max(0.1, Math.min(Number(size?.cpus) || 1, hostCpus));
	const memory_mb = Math.max(64, Math.min(Number(size?.memory_mb) || 2048, memCap));
	const pids_max = Math.max(32, Math.min(Number(size?.pids_max) || DEFAULT_PIDS_MAX, 65536));
	return { cpus, memory_mb, pids_max };
}

export function agentTag(dataDir: string): string {
	return 'a' + createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 10);
}

export class SandboxManager {
	readonly byId = new Map<string, Sandbox>();
	readonly all = new Set<Sandbox>();
	private slots = new Set<number>();
	/** Slots are handed out round-robin so a freed slot (uid, cgroup and dir names) isn't reused at once. */
	private nextSlot = 1;
	private readonly sandboxesDir: string;
	/** Called when a sandbox goes away (destroyed or died): processes etc. drop their state. */
	onGone: ((sb: Sandbox) => void)[] = [];
	/** Fills a fresh upper dir from a snapshot before boot (set by the snapshot store). */
	seedSnapshot: ((snapshotId: string, template: string, upperDir: string, hostUid: number) => Promise<void>) | null = null;

	constructor(readonly o: ManagerOptions) {
		this.sandboxesDir = path.join(o.dataDir, 'sandboxes');
	}

	// ------------------------------------------------------------------ startup cleanup

	/** Remove everything a previous (crashed) agent run left behind. */
	async init(): Promise<{ cleaned: number }> {
		await mkdir(this.sandboxesDir, { recursive: true, mode: 0o711 });
		let cleaned = 0;
		for (const key of await this.o.cgroups.list()) {
			const cg = this.o.cgroups.open(key);
			await cg.killAll().catch((e) => log.warn('cleanup: kill failed', { key, error: String(e) }));
			await cg.remove().catch((e) => log.warn('cleanup: rmdir cgroup failed', { key, error: String(e) }));
			cleaned++;
		}
		// Mounts should never exist on the host (overlays live in private mount namespaces), but be
		// thorough: lazily unmount anything under our data dir, deepest first.
		await unmountUnder(path.resolve(this.o.dataDir));
		for (const e of await readdir(this.sandboxesDir)) {
			await rm(path.join(this.sandboxesDir, e), { recursive: true, force: true });
			cleaned++;
		}
		if (cleaned) log.info('cleaned up leftovers of a previous run', { count: cleaned });
		return { cleaned };
	}

	// ------------------------------------------------------------------ queries

	get(id: string): Sandbox {
		const sb = this.byId.get(id);
		if (!sb || sb.destroying) throw fault('SANDBOX_NOT_FOUND', `sandbox ${id} not found`);
		return sb;
	}

	info(sb: Sandbox): SandboxInfo {
		return {
			id: sb.id!,
			state: sb.state,
			template: sb.template,
			started_at: sb.startedAt.toISOString(),
			network: sb.network,
			hostname: sb.hostname,
			limits: sb.limits
		};
	}

	list(): SandboxInfo[] {
		return [...this.byId.values()].filter((s) => !s.destroying).map((s) => this.info(s));
	}

	counts(): { running: number; paused: number } {
		let running = 0;
		let paused = 0;
		for (const s of this.byId.values()) {
			if (s.destroying) continue;
			if (s.state === 'paused') paused++;
			else running++;
		}
		return { running, paused };
	}

	async stats(id: string): Promise<SandboxStats> {
		return this.get(id).cg.stats();
	}

	// ------------------------------------------------------------------ lifecycle

	/** Boot an unclaimed sandbox (warm pool or cold create). */
	async boot(templateId: string, seed?: (upperDir: string, hostUid: number) => Promise<void>): Promise<Sandbox> {
		const root = this.o.templates.root(templateId);
		if (this.slots.size >= Math.min(MAX_SLOTS, this.o.maxSandboxes ?? MAX_SLOTS))
			throw fault('CAPACITY', 'host is at its sandbox limit');
		const limit = Math.min(MAX_SLOTS, this.o.maxSandboxes ?? MAX_SLOTS);
		let slot = this.nextSlot;
		while (this.slots.has(slot)) slot = (slot % limit) + 1;
		this.nextSlot = (slot % limit) + 1;
		this.slots.add(slot);
		const key = `sb${slot}`;
		const hostUid = this.o.uidBase + slot;
		const dir = path.join(this.sandboxesDir, key);
		let cg: Cgroup | null = null;
		try {
			await rm(dir, { recursive: true, force: true });
			await prepareSandboxDir(dir, hostUid);
			if (seed) await seed(path.join(dir, 'upper'), hostUid);
			cg = await this.o.cgroups.create(key);
			const limits = scaleLimits({ cpus: os.cpus().length, memory_mb: 1024, pids_max: DEFAULT_PIDS_MAX });
			await cg.setLimits({ cpus: limits.cpus, memory_bytes: limits.memory_mb * 1024 * 1024, pids_max: limits.pids_max });
			const inst = await bootBwrap({
				helper: this.o.helper,
				dir,
				rootfs: root.rootfs,
				hostUsr: root.hostUsr,
				hostUid,
				cgroupProcs: cg.procsFiles
			});
			const sb: Sandbox = {
				id: null,
				key,
				slot,
				hostUid,
				template: templateId,
				dir,
				cg,
				inst,
				state: 'running',
				network: false,
				slirp: null,
				hostname: 'sandbox',
				env: {},
				templateEnv: {
					// Node ignores the system trust store; point it there (it holds the host's added CAs too).
					...(!root.hostUsr && existsSync(path.join(root.rootfs, 'etc/ssl/certs/ca-certificates.crt')) ? { NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' } : {}),
					...(root.spec.env ?? {})
				},
				limits,
				startedAt: new Date(),
				destroying: null
			};
			this.all.add(sb);
			void inst.exited.then((st) => this.onExit(sb, st));
			return sb;
		} catch (e) {
			if (cg) {
				await cg.killAll().catch(() => undefined);
				await cg.remove().catch(() => undefined);
			}
			await rm(dir, { recursive: true, force: true }).catch(() => undefined);
			this.slots.delete(slot);
			throw e;
		}
	}

	/** Turn a booted sandbox into the requested one: limits, network, hostname, env, id. */
	async claim(sb: Sandbox, p: SandboxCreateParams): Promise<void> {
		if (this.byId.has(p.id)) throw fault('SANDBOX_EXISTS', `sandbox ${p.id} already exists`);
		sb.id = p.id;
		this.byId.set(p.id, sb);
		try {
			sb.limits = scaleLimits(p.size);
			await sb.cg.setLimits({
				cpus: sb.limits.cpus,
				memory_bytes: sb.limits.memory_mb * 1024 * 1024,
				pids_max: sb.limits.pids_max
			});
			sb.env = { ...(p.env ?? {}) };
			if (p.hostname && p.hostname !== sb.hostname) {
				if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(p.hostname))
					throw fault('INVALID_PARAMS', 'invalid hostname');
				await setHostname(this.o.helper, sb.inst.initPid, p.hostname);
				sb.hostname = p.hostname;
			}
			if (p.network) {
				await applyEgressRules(sb.inst.initPid);
				sb.slirp = await attachSlirp({
					helper: this.o.helper,
					initPid: sb.inst.initPid,
					hostUid: sb.hostUid,
					cgroupProcs: sb.cg.procsFiles
				});
				sb.network = true;
			}
			sb.startedAt = new Date();
		} catch (e) {
			await this.destroySandbox(sb);
			throw e;
		}
	}

	async create(p: SandboxCreateParams, takeWarm?: (template: string) => Sandbox | undefined): Promise<SandboxCreateResult> {
		if (!p || typeof p.id !== 'string' || !p.id || typeof p.template !== 'string')
			throw fault('INVALID_PARAMS', 'sandbox.create needs id and template');
		if (this.byId.has(p.id)) throw fault('SANDBOX_EXISTS', `sandbox ${p.id} already exists`);
		const t0 = performance.now();
		this.o.templates.root(p.template); // TEMPLATE_NOT_FOUND / TEMPLATE_NOT_READY
		// A snapshot seeds the upper dir before the overlay is mounted: never a warm sandbox.
		const from = p.from_snapshot;
		if (from && !this.seedSnapshot) throw fault('SNAPSHOT_NOT_FOUND', 'snapshots are not available on this agent');
		let sb = from ? undefined : takeWarm?.(p.template);
		const boot_path = sb ? 'warm' : 'cold';
		if (!sb) sb = await this.boot(p.template, from ? (upper, uid) => this.seedSnapshot!(from, p.template, upper, uid) : undefined);
		await this.claim(sb, p);
		return { boot_ms: Math.round((performance.now() - t0) * 100) / 100, boot_path, limits: sb.limits };
	}

	async pause(id: string): Promise<void> {
		const sb = this.get(id);
		if (sb.state === 'paused') return;
		await sb.cg.freeze();
		sb.state = 'paused';
	}

	async resume(id: string): Promise<void> {
		const sb = this.get(id);
		if (sb.state === 'running') return;
		await sb.cg.thaw();
		sb.state = 'running';
	}

	async destroy(id: string): Promise<boolean> {
		const sb = this.byId.get(id);
		if (!sb) return false;
		await this.destroySandbox(sb);
		return true;
	}

	destroySandbox(sb: Sandbox): Promise<void> {
		if (!sb.destroying) sb.destroying = this.teardown(sb);
		return sb.destroying;
	}

	private async teardown(sb: Sandbox): Promise<void> {
		for (const f of this.onGone) {
			try {
				f(sb);
			} catch {
				/* ignore */
			}
		}
		try {
			sb.slirp?.kill('SIGKILL');
		} catch {
			/* gone */
		}
		try {
			if (!sb.inst.hasExited()) process.kill(sb.inst.outerPid, 'SIGKILL');
		} catch {
			/* gone */
		}
		await sb.cg.killAll().catch((e) => log.warn('destroy: kill failed', { key: sb.key, error: String(e) }));
		await Promise.race([sb.inst.exited, new Promise((r) => setTimeout(r, 5000))]);
		await sb.cg.remove().catch((e) => log.warn('destroy: cgroup remove failed', { key: sb.key, error: String(e) }));
		await rm(sb.dir, { recursive: true, force: true }).catch((e) =>
			log.warn('destroy: rm failed', { key: sb.key, error: String(e) })
		);
		this.all.delete(sb);
		if (sb.id && this.byId.get(sb.id) === sb) this.byId.delete(sb.id);
		this.slots.delete(sb.slot);
	}

	private onExit(sb: Sandbox, st: { code: number | null; signal: NodeJS.Signals | null }): void {
		if (sb.destroying) return;
		const reason = st.signal ? `bwrap killed by ${st.signal}` : `sandbox init exited (${st.code})`;
		log.warn('sandbox exited unexpectedly', { id: sb.id, key: sb.key, ...st });
		if (sb.id) this.o.emit('sandbox.exited', { sandbox_id: sb.id, reason, exit_code: st.code, signal: st.signal });
		void this.destroySandbox(sb);
	}

	async shutdown(): Promise<void> {
		await Promise.all([...this.all].map((sb) => this.destroySandbox(sb)));
	}

	// ------------------------------------------------------------------ entering

	baseEnv(sb: Sandbox, extra?: Record<string, string>, tty = false): Record<string, string> {
		return {
			PATH: SYS_PATH,
			HOME: '/home/user',
			USER: 'user',
			LOGNAME: 'user',
			SHELL: '/bin/bash',
			LANG: 'C.UTF-8',
			HOSTNAME: sb.hostname,
			...(tty ? { TERM: 'xterm-256color' } : {}),
			...sb.templateEnv,
			...sb.env,
			...(extra ?? {})
		};
	}

	/** Command line that runs argv inside the sandbox (for node-pty: pty.spawn(file, args, { env })). */
	command(
		id: string,
		argv: string[],
		opts: Omit<SpawnOptions, 'stdio'> & { reportFd?: number } = {}
	): { file: string; args: string[]; env: Record<string, string> } {
		const sb = this.get(id);
		if (sb.state === 'paused') throw fault('SANDBOX_PAUSED', `sandbox ${id} is paused`);
		if (!Array.isArray(argv) || argv.length === 0) throw fault('INVALID_PARAMS', 'empty command');
		const uid = opts.uid ?? SANDBOX_UID;
		if (uid !== SANDBOX_UID) throw fault('INVALID_PARAMS', `only uid ${SANDBOX_UID} exists in sandboxes`);
		const args = [
			'exec',
			'--pid',
			String(sb.inst.initPid),
			...sb.cg.procsFiles.flatMap((f) => ['--cgroup', f]),
			'--uid',
			String(uid),
			'--gid',
			String(uid),
			'--cwd',
			opts.cwd || '/workspace',
			...(opts.tty ? ['--tty'] : []),
			...(opts.reportFd ? ['--report-fd', String(opts.reportFd)] : []),
			...(opts.unixRelay ? ['--unix-relay', opts.unixRelay] : []),
			'--',
			...argv
		];
		return { file: this.o.helper, args, env: this.baseEnv(sb, opts.env, opts.tty) };
	}

	spawn(id: string, argv: string[], opts: SpawnOptions = {}): SandboxChild {
		const stdio = (Array.isArray(opts.stdio) ? opts.stdio : [opts.stdio ?? 'pipe', opts.stdio ?? 'pipe', opts.stdio ?? 'pipe']) as unknown[];
		const { file, args, env } = this.command(id, argv, { ...opts, reportFd: 3 });
		const child = spawn(file, args, {
			env,
			stdio: [stdio[0] ?? 'pipe', stdio[1] ?? 'pipe', stdio[2] ?? 'pipe', 'pipe'] as StdioOptions
		}) as SandboxChild;
		// Never let a broken pipe become an uncaught exception; consumers can add their own listeners.
		for (const st of child.stdio) (st as Readable | null)?.on('error', () => undefined);
		const report = child.stdio[3] as Readable;
		child.sandboxPid = new Promise((resolve, reject) => {
			let buf = '';
			report.on('data', (c: Buffer) => (buf += c.toString('utf8')));
			report.on('close', () => {
				const m = /^(\d+) (-?\d+)/.exec(buf);
				if (m) resolve({ hostPid: Number(m[1]), pid: Number(m[2]) });
				else reject(new Error('process did not start in the sandbox'));
			});
			report.on('error', () => undefined);
			child.once('error', reject);
		});
		child.sandboxPid.catch(() => undefined);
		return child;
	}
}

/** Lazily unmount every mount point at or below dir (deepest first). */
async function unmountUnder(dir: string): Promise<void> {
	let mounts: string[] = [];
	try {
		mounts = readFileSync('/proc/self/mountinfo', 'utf8')
			.split('\n')
			.map((l) => l.split(' ')[4])
			.filter((m): m is string => !!m)
			.map((m) => m.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
			.filter((m) => m === dir || m.startsWith(dir + '/'))
			.sort((a, b) => b.length - a.length);
	} catch {
		return;
	}
	for (const m of mounts) {
		await new Promise<void>((resolve) => {
			const p = spawn('umount', ['-l', m], { stdio: 'ignore', env: { PATH: SYS_PATH } });
			p.on('close', () => resolve());
			p.on('error', () => resolve());
		});
		log.warn('unmounted leftover mount', { mount: m });
	}
}

// ------------------------------------------------------------------ module-level entry point

let defaultManager: SandboxManager | null = null;

export function setDefaultManager(m: SandboxManager | null): void {
	defaultManager = m;
}

/**
 * Run argv inside a sandbox as uid 1000, in its cgroups and namespaces, in a new session (so
 * `process.kill(-hostPid, sig)` signals the whole group). Returns a normal ChildProcess (the
 * host-side helper; its exit code is the inner process's, 128+n when killed by signal n) plus
 * `sandboxPid`. Throws SANDBOX_NOT_FOUND / SANDBOX_PAUSED.
 */
export function spawnInSandbox(sandboxId: string, argv: string[], opts: SpawnOptions = {}): SandboxChild {
	if (!defaultManager) throw new Error('no agent running');
	return defaultManager.spawn(sandboxId, argv, opts);
}

/** For PTYs: the file/args/env to hand to node-pty's spawn (pass tty: true). */
export function sandboxCommand(
	sandboxId: string,
	argv: string[],
	opts: Omit<SpawnOptions, 'stdio'> = {}
): { file: string; args: string[]; env: Record<string, string> } {
	if (!defaultManager) throw new Error('no agent running');
	return defaultManager.command(sandboxId, argv, opts);
}
