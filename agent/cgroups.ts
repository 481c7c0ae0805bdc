/**
 * Per-sandbox cgroups, v1 (hybrid/legacy hosts: memory, cpu, cpuacct, pids, freezer under
 * /sys/fs/cgroup/<controller>/hangar/<agent tag>/<sandbox key>) and v2 (unified: memory.max,
 * cpu.max, pids.max, cgroup.freeze, cgroup.kill under /sys/fs/cgroup/hangar/<tag>/<key>).
 *
 * The agent tag is derived from the agent's data directory, so several agents on one host (tests,
 * a dev agent) never touch each other's cgroups, and a restarted agent finds its leftovers.
 */
import { existsSync, readFileSync, realpathSync, statfsSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface CgroupLimits {
	cpus: number;
	memory_bytes: number;
	pids_max: number;
}

export interface CgroupStats {
	memory_bytes: number;
	cpu_usage_ns: number;
	pids: number;
}

export interface Cgroup {
	readonly key: string;
	/** cgroup.procs files a process writes its pid to, to join every controller. */
	readonly procsFiles: string[];
	setLimits(l: CgroupLimits): Promise<void>;
	freeze(): Promise<void>;
	thaw(): Promise<void>;
	/** Host pids of all processes in the cgroup. */
	pids(): Promise<number[]>;
	/** Kill every process (thawing first so SIGKILL lands); waits until empty. */
	killAll(): Promise<void>;
	remove(): Promise<void>;
	stats(): Promise<CgroupStats>;
}

const CGROUP2_MAGIC = 0x63677270;
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readNum(file: string): Promise<number> {
	try {
		const s = (await readFile(file, 'utf8')).trim();
		return s === 'max' ? Infinity : Number(s) || 0;
	} catch {
		return 0;
	}
}

async function tryWrite(file: string, value: string): Promise<boolean> {
	try {
		await writeFile(file, value);
		return true;
	} catch {
		return false;
	}
}

async function readPids(files: string[]): Promise<number[]> {
	const set = new Set<number>();
	for (const f of files) {
		try {
			for (const l of (await readFile(f, 'utf8')).split('\n')) if (l.trim()) set.add(Number(l));
		} catch {
			/* gone */
		}
	}
	return [...set];
}

function killPids(pids: number[]): void {
	for (const p of pids) {
		try {
			process.kill(p, 'SIGKILL');
		} catch {
			/* gone */
		}
	}
}

async function rmdirRetry(dir: string): Promise<void> {
	for (let i = 0; i < 50; i++) {
		try {
			await rmdir(dir);
			return;
		} catch (e) {
			const code = (e as NodeJS.ErrnoException).code;
			if (code === 'ENOENT') return;
			if (code !== 'EBUSY') throw e;
			await sleep(20);
		}
	}
	await rmdir(dir);
}

export type CgroupMode = 'v1' | 'v2';

export function detectCgroupMode(root = '/sys/fs/cgroup'): CgroupMode {
	try {
		if (statfsSync(root).type === CGROUP2_MAGIC) return 'v2';
	} catch {
		/* fall through */
	}
	return 'v1';
}

export class Cgroups {
	readonly mode: CgroupMode;
	/** v1: controller -> <mount>/hangar/<tag>; v2: single entry 'unified'. */
	private bases = new Map<string, string>();

	constructor(
		readonly tag: string,
		private readonly root = '/sys/fs/cgroup'
	) {
		this.mode = detectCgroupMode(root);
	}

	async init(): Promise<void> {
		if (this.mode === 'v2') {
			const base = path.join(this.root, 'hangar', this.tag);
			await mkdir(base, { recursive: true });
			// Enable controllers down the path (root → hangar → tag).
			const want = ['cpu', 'memory', 'pids'];
			const available = readFileSync(path.join(this.root, 'cgroup.controllers'), 'utf8').split(/\s+/);
			const enable = want.filter((c) => available.includes(c)).map((c) => `+${c}`).join(' ');
			for (const dir of [this.root, path.join(this.root, 'hangar'), base]) {
				await tryWrite(path.join(dir, 'cgroup.subtree_control'), enable);
			}
			this.bases.set('unified', base);
			return;
		}
		const seen = new Set<string>();
		for (const c of V1_CONTROLLERS) {
			const mount = path.join(this.root, c);
			if (!existsSync(mount)) {
				if (c === 'cpuacct') continue;
				throw new Error(`cgroup v1 controller ${c} is not mounted at ${mount}`);
			}
			const real = realpathSync(mount);
			if (seen.has(real)) continue; // cpu and cpuacct co-mounted
			seen.add(real);
			const base = path.join(real, 'hangar', this.tag);
			await mkdir(base, { recursive: true });
			this.bases.set(c, base);
		}
		if (!this.bases.has('cpuacct') && this.bases.has('cpu')) {
			// co-mounted: cpuacct files live in the cpu dir
			this.bases.set('cpuacct', this.bases.get('cpu')!);
		}
	}

	/** Keys of existing sandbox cgroups (leftovers after a crash, or live ones). */
	async list(): Promise<string[]> {
		const keys = new Set<string>();
		for (const base of new Set(this.bases.values())) {
			try {
				for (const e of await readdir(base, { withFileTypes: true })) if (e.isDirectory()) keys.add(e.name);
			} catch {
				/* none */
			}
		}
		return [...keys];
	}

	/** Remove this agent's (empty) base cgroups on shutdown. */
	async removeBase(): Promise<void> {
		for (const base of new Set(this.bases.values())) {
			await rmdir(base).catch(() => undefined);
			await rmdir(path.dirname(base)).catch(() => undefined); // 'hangar', if no other agent uses it
		}
	}

	async create(key: string): Promise<Cgroup> {
		const cg = this.open(key);
		for (const d of cg.dirs) await mkdir(d, { recursive: true });
		return cg;
	}

	open(key: string): Cgroup & { dirs: string[] } {
		return this.mode === 'v2' ? this.openV2(key) : this.openV1(key);
	}

	private openV1(key: string): Cgroup & { dirs: string[] } {
		const dir = (c: string) => path.join(this.bases.get(c)!, key);
		const dirs = [...new Set([...this.bases.keys()].map(dir))];
		const procsFiles = dirs.map((d) => path.join(d, 'cgroup.procs'));
		const freezer = dir('freezer');
		const state = async () => (await readFile(path.join(freezer, 'freezer.state'), 'utf8').catch(() => '')).trim();
		const setState = async (s: 'FROZEN' | 'THAWED') => {
			await writeFile(path.join(freezer, 'freezer.state'), s);
			for (let i = 0; i < 200; i++) {
				const now = await state();
				if (now === s || now === '') return;
				if (s === 'FROZEN' && now === 'THAWED') await writeFile(path.join(freezer, 'freezer.state'), s);
				await sleep(5);
			}
			throw new Error(`freezer did not reach ${s}`);
		};
		const hasCpuacct = this.bases.has('cpuacct');
		return {
			key,
			dirs,
			procsFiles,
			async setLimits(l) {
				const mem = String(Math.floor(l.memory_bytes));
				// v1 requires memory <= memory+swap at every step: raise memsw first when growing,
				// lower memory first when shrinking (a warm sandbox is claimed with new limits).
				const memFile = path.join(dir('memory'), 'memory.limit_in_bytes');
				const memswFile = path.join(dir('memory'), 'memory.memsw.limit_in_bytes');
				const current = Number((await readFile(memFile, 'utf8').catch(() => '0')).trim());
				if (Number(mem) > current) {
					await tryWrite(memswFile, mem);
					await writeFile(memFile, mem);
				} else {
					await writeFile(memFile, mem);
					await tryWrite(memswFile, mem);
				}
				await writeFile(path.join(dir('cpu'), 'cpu.cfs_period_us'), '100000');
				await writeFile(path.join(dir('cpu'), 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(l.cpus * 100000))));
				await writeFile(path.join(dir('pids'), 'pids.max'), String(l.pids_max));
			},
			freeze: () => setState('FROZEN'),
			thaw: () => setState('THAWED'),
			pids: () => readPids(procsFiles),
			async killAll() {
				// Freeze so nothing forks while we kill, SIGKILL everyone, thaw so the kills land.
				for (let round = 0; round < 100; round++) {
					const pids = await readPids(procsFiles);
					if (pids.length === 0) return;
					await setState('FROZEN').catch(() => undefined);
					killPids(await readPids(procsFiles));
					await setState('THAWED').catch(() => undefined);
					await sleep(round < 5 ? 5 : 20);
				}
			},
			async remove() {
				for (const d of dirs) await rmdirRetry(d);
			},
			async stats() {
				return {
					memory_bytes: await readNum(path.join(dir('memory'), 'memory.usage_in_bytes')),
					cpu_usage_ns: hasCpuacct ? await readNum(path.join(dir('cpuacct'), 'cpuacct.usage')) : 0,
					pids: await readNum(path.join(dir('pids'), 'pids.current'))
				};
			}
		};
	}

	private openV2(key: string): Cgroup & { dirs: string[] } {
		const d = path.join(this.bases.get('unified')!, key);
		const procsFiles = [path.join(d, 'cgroup.procs')];
		const waitFrozen = async (want: '0' | '1') => {
			for (let i = 0; i < 400; i++) {
				const ev = await readFile(path.join(d, 'cgroup.events'), 'utf8').catch(() => '');
				if (new RegExp(`^frozen ${want}$`, 'm').test(ev) || ev === '') return;
				await sleep(5);
			}
			throw new Error('cgroup did not freeze');
		};
		return {
			key,
			dirs: [d],
			procsFiles,
			async setLimits(l) {
				await writeFile(path.join(d, 'memory.max'), String(Math.floor(l.memory_bytes)));
				await tryWrite(path.join(d, 'memory.swap.max'), '0');
				await writeFile(path.join(d, 'cpu.max'), `${Math.max(1000, Math.round(l.cpus * 100000))} 100000`);
				await writeFile(path.join(d, 'pids.max'), String(l.pids_max));
			},
			async freeze() {
				await writeFile(path.join(d, 'cgroup.freeze'), '1');
				await waitFrozen('1');
			},
			async thaw() {
				await writeFile(path.join(d, 'cgroup.freeze'), '0');
				await waitFrozen('0');
			},
			pids: () => readPids(procsFiles),
			async killAll() {
				const hasKill = await tryWrite(path.join(d, 'cgroup.kill'), '1');
				for (let round = 0; round < 100; round++) {
					const pids = await readPids(procsFiles);
					if (pids.length === 0) return;
					if (!hasKill) {
						await tryWrite(path.join(d, 'cgroup.freeze'), '0');
						killPids(pids);
					} else if (round % 10 === 9) await tryWrite(path.join(d, 'cgroup.kill'), '1');
					await sleep(round < 5 ? 5 : 20);
				}
			},
			async remove() {
				await rmdirRetry(d);
			},
			async stats() {
				const cpu = await readFile(path.join(d, 'cpu.stat'), 'utf8').catch(() => '');
				const usec = Number(/^usage_usec (\d+)/m.exec(cpu)?.[1] ?? 0);
				return {
					memory_bytes: await readNum(path.join(d, 'memory.current')),
					cpu_usage_ns: usec * 1000,
					pids: await readNum(path.join(d, 'pids.current'))
				};
			}
		};
	}
}
