/**
 * Hangar host agent: entry point and wiring.
 *
 *   node build/agent/agent.mjs         (env: HANGAR_URL, HANGAR_HOST_KEY, HANGAR_AGENT_DATA, …)
 *   import { startAgent } from './main' (tests, embedding)
 */
import { EventEmitter } from 'node:events';
import { readFileSync, statfsSync } from 'node:fs';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import {
	PROTOCOL_VERSION,
	type ChannelKind,
	type ChannelKinds,
	type Events,
	type Hello,
	type Methods,
	type ParamsOf,
	type ResultOf,
	type TemplateProgressEvent,
	type Usage
} from '../src/lib/protocol/index';
import type { Channel, HandlerContext } from '../src/lib/protocol/peer';
import { Cgroups } from './cgroups';
import { DesktopManager } from './desktop';
import { AgentConnection } from './connection';
import { ensureEnvd } from './envd/helper';
import { fault } from './errors';
import { ExecRunner } from './exec';
import { registerFiles } from './files';
import { log } from './log';
import { WarmPool } from './pool';
import { ProcessManager } from './processes';
import { PtyManager } from './pty';
import { SandboxManager, agentTag, hostMemoryMb, setDefaultManager } from './sandboxes';
import { SnapshotStore } from './snapshots';
import { TcpRelays } from './tcp';
import { TemplateStore } from './templates/store';

export const AGENT_VERSION = '0.1.0';

export interface AgentOptions {
	/** Control plane base URL, e.g. http://127.0.0.1:3000 */
	url: string;
	hostKey: string;
	dataDir?: string;
	hostName?: string;
	region?: string;
	labels?: Record<string, string>;
	/** Warm sandboxes per ready template (default 2; 0 disables). */
	poolSize?: number;
	templateDir?: string;
	/** First host uid of this agent's per-sandbox uid range. */
	uidBase?: number;
	maxSandboxes?: number;
	/** Reconnect backoff cap (default 5000 ms). */
	maxBackoffMs?: number;
	/** Kill a terminal session this long after its last viewer left (default 15 min). */
	ptyIdleMs?: number;
}

export type MethodHandler<M extends keyof Methods> = (
	params: ParamsOf<M>,
	ctx: HandlerContext
) => Promise<ResultOf<M>> | ResultOf<M>;
export type ChannelKindHandler<K extends ChannelKind> = (params: ChannelKinds[K], ch: Channel) => Promise<void> | void;

export interface Agent {
	readonly dataDir: string;
	readonly helper: string;
	readonly manager: SandboxManager;
	readonly pool: WarmPool;
	readonly templates: TemplateStore;
	readonly processes: ProcessManager;
	readonly exec: ExecRunner;
	readonly ptys: PtyManager;
	readonly desktops: DesktopManager;
	readonly connection: AgentConnection;
	readonly cgroups: Cgroups;
	readonly snapshots: SnapshotStore;
	readonly tcp: TcpRelays;
	/** Add/override a method handler (other modules: files, snapshots…). */
	handle<M extends keyof Methods>(method: M, h: MethodHandler<M>): void;
	/** Add a channel kind handler ('pty', 'tcp', 'file-read', 'file-write'…). */
	handleChannel<K extends ChannelKind>(kind: K, h: ChannelKindHandler<K>): void;
	stop(): Promise<void>;
}

export function parseLabels(s: string | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	for (const part of (s ?? '').split(',')) {
		const i = part.indexOf('=');
		if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
	}
	return out;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): AgentOptions {
	const url = env.HANGAR_URL;
	const hostKey = env.HANGAR_HOST_KEY;
	if (!url || !hostKey) throw new Error('HANGAR_URL and HANGAR_HOST_KEY are required');
	return {
		url,
		hostKey,
		dataDir: env.HANGAR_AGENT_DATA || '/var/lib/hangar-agent',
		hostName: env.HANGAR_HOST_NAME || undefined,
		region: env.HANGAR_REGION || undefined,
		labels: parseLabels(env.HANGAR_LABELS),
		poolSize: env.HANGAR_POOL_SIZE !== undefined && env.HANGAR_POOL_SIZE !== '' ? Number(env.HANGAR_POOL_SIZE) : undefined,
		templateDir: env.HANGAR_TEMPLATE_DIR || undefined,
		uidBase: env.HANGAR_UID_BASE ? Number(env.HANGAR_UID_BASE) : undefined,
		maxSandboxes: env.HANGAR_MAX_SANDBOXES ? Number(env.HANGAR_MAX_SANDBOXES) : undefined,
		ptyIdleMs: env.HANGAR_PTY_IDLE_SEC ? Number(env.HANGAR_PTY_IDLE_SEC) * 1000 : undefined
	};
}

function defaultUidBase(dataDir: string): number {
	const h = createHash('sha256').update(path.resolve(dataDir)).digest().readUInt32BE(0);
	return 1_000_000 + (h % 400) * 10_000;
}

function memUsedMb(): number {
	try {
		const mi = readFileSync('/proc/meminfo', 'utf8');
		const total = Number(/^MemTotal:\s+(\d+)/m.exec(mi)?.[1] ?? 0);
		const avail = Number(/^MemAvailable:\s+(\d+)/m.exec(mi)?.[1] ?? 0);
		return Math.round((total - avail) / 1024);
	} catch {
		return Math.round((os.totalmem() - os.freemem()) / 1024 / 1024);
	}
}

/** True when every directory from / down to `dir` can be searched by other users. */
async function traversable(dir: string): Promise<boolean> {
	let p = path.resolve(dir);
	for (;;) {
		const st = await stat(p).catch(() => null);
		if (!st || (st.mode & 0o001) === 0) return false;
		const parent = path.dirname(p);
		if (parent === p) return true;
		p = parent;
	}
}

async function mkdirTraversable(dir: string): Promise<void> {
	const parts = path.resolve(dir).split(path.sep).filter(Boolean);
	let p = '/';
	for (const part of parts) {
		p = path.join(p, part);
		await mkdir(p).catch((e: NodeJS.ErrnoException) => {
			if (e.code !== 'EEXIST') throw e;
		});
		if (p.startsWith('/var/lib/hangar-agent')) await chmod(p, 0o711);
	}
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
	if (process.getuid?.() !== 0) throw new Error('the host agent must run as root (it drops privileges per sandbox)');
	const dataDir = path.resolve(o.dataDir ?? '/var/lib/hangar-agent');
	await mkdir(dataDir, { recursive: true });
	await chmod(dataDir, 0o711);
	const templateDir = path.resolve(o.templateDir ?? path.join(dataDir, 'templates'));
	await mkdir(templateDir, { recursive: true });
	// Sandboxes run as unprivileged host uids, and bwrap (running as that uid) must traverse the
	// paths of the helper and of each sandbox's root. A data dir under /root or a 0700 temp dir is
	// not traversable, so runtime files then live under /var/lib/hangar-agent/run/<tag>.
	const runDir = (await traversable(dataDir)) ? dataDir : path.join('/var/lib/hangar-agent/run', agentTag(dataDir));
	if (runDir !== dataDir) await mkdirTraversable(runDir);
	const helper = await ensureEnvd(path.join(runDir, 'bin'));

	const bus = new EventEmitter();
	bus.setMaxListeners(0);
	let connection: AgentConnection | null = null;
	const emit = <E extends keyof Events>(name: E, data: Events[E]) => {
		bus.emit('event', name, data);
		connection?.emitEvent(name, data);
	};

	const cgroups = new Cgroups(agentTag(dataDir));
	await cgroups.init();
	let pool: WarmPool | null = null;
	const templates = new TemplateStore(templateDir, {
		progress: (e) => {
			bus.emit('template.progress', e);
			emit('template.progress', e);
		},
		ready: (id, hash) => {
			emit('template.ready', { id, hash });
			void pool?.refill(id);
		},
		failed: (id, hash, error) => emit('template.failed', { id, hash, error })
	});
	await templates.init();
	const maxSandboxes = o.maxSandboxes ?? Math.max(1, Math.min(9999, Math.floor(hostMemoryMb() / 64)));
	const manager = new SandboxManager({
		dataDir: runDir,
		helper,
		cgroups,
		templates,
		emit,
		uidBase: o.uidBase ?? defaultUidBase(dataDir),
		maxSandboxes
	});
	// Sandboxes cannot outlive the agent (bwrap dies with its parent): clean up and report none.
	await manager.init();
	setDefaultManager(manager);
	pool = new WarmPool(manager, o.poolSize ?? 2);
	const processes = new ProcessManager(manager, emit);
	const exec = new ExecRunner(manager);
	const ptys = new PtyManager(manager, emit, { idleMs: o.ptyIdleMs });

	// --------------------------------------------------------------- handlers
	const methods = new Map<string, (params: never, ctx: HandlerContext) => unknown>();
	const handle = <M extends keyof Methods>(m: M, h: MethodHandler<M>) => methods.set(m, h as never);
	const channels = new Map<string, (params: never, ch: Channel) => unknown>();
	const handleChannel = <K extends ChannelKind>(k: K, h: ChannelKindHandler<K>) => channels.set(k, h as never);
	const p = pool;

	handle('agent.ping', () => ({ time: Date.now() }));
	handle('sandbox.create', (params) => manager.create(params, (t) => p.take(t)));
	handle('sandbox.destroy', async ({ id }) => ({ destroyed: await manager.destroy(id) }));
	handle('sandbox.pause', async ({ id }) => {
		await manager.pause(id);
		return {};
	});
	handle('sandbox.resume', async ({ id }) => {
		await manager.resume(id);
		return {};
	});
	handle('sandbox.list', () => ({ sandboxes: manager.list() }));
	handle('sandbox.get', ({ id }) => manager.info(manager.get(id)));
	handle('sandbox.stats', ({ id }) => manager.stats(id));
	handle('exec.run', (params, ctx) => exec.run(params, ctx));
	handle('exec.kill', ({ exec_id, signal }) => ({ killed: exec.kill(exec_id, signal) }));
	handle('process.start', (params) => processes.start(params));
	handle('process.list', ({ sandbox_id }) => ({ processes: processes.list(sandbox_id) }));
	handle('process.get', ({ sandbox_id, pid }) => processes.get(sandbox_id, pid));
	handle('process.signal', ({ sandbox_id, pid, signal, group }) => {
		processes.signal(sandbox_id, pid, signal, group ?? true);
		return {};
	});
	handle('process.stop', ({ sandbox_id, pid, grace_ms }) => processes.stop(sandbox_id, pid, grace_ms));
	handle('process.stdin', ({ sandbox_id, pid, data, data_b64, eof }) => {
		processes.stdin(sandbox_id, pid, data, data_b64, eof);
		return {};
	});
	handle('process.logs', ({ sandbox_id, pid, tail }) => processes.logs(sandbox_id, pid, tail));
	handle('template.list', () => ({ templates: templates.list() }));
	handle('template.ensure', async ({ id, wait }, ctx) => {
		const hash = templates.hash(id);
		const fwd = (e: TemplateProgressEvent) => {
			if (e.hash === hash) ctx.progress(e);
		};
		bus.on('template.progress', fwd);
		try {
			return await templates.ensureResult(id, !!wait);
		} finally {
			bus.off('template.progress', fwd);
		}
	});

	handleChannel('process-logs', (params, ch) => processes.follow(params.sandbox_id, params.pid, params.tail, ch));
	handleChannel('echo', (_params, ch) => {
		ch.pipe(ch);
	});
	// Previews: byte streams to ports inside sandboxes. Snapshots: writable layers kept under <data>/snapshots.
	const tcp = new TcpRelays(manager);
	handleChannel('tcp', (params, ch) => tcp.open(params, ch));
	const snapshots = new SnapshotStore(dataDir, manager, templates);
	await snapshots.init();
	manager.seedSnapshot = (id, template, upper, uid) => snapshots.seed(id, template, upper, uid);
	handle('snapshot.create', (params) => snapshots.create(params));
	handle('snapshot.get', ({ id }) => snapshots.get(id));
	handle('snapshot.list', async () => ({ snapshots: await snapshots.list(), stored_bytes: await snapshots.storedBytes() }));
	handle('snapshot.delete', async ({ id }) => ({ deleted: await snapshots.delete(id) }));
	registerFiles({ handle, handleChannel });
	handle('pty.create', (params) => ptys.create(params));
	handle('pty.resize', ({ sandbox_id, session_id, cols, rows }) => ptys.resize(sandbox_id, session_id, cols, rows));
	handle('pty.kill', ({ sandbox_id, session_id }) => ({ killed: ptys.killSession(sandbox_id, session_id) }));
	handle('pty.list', ({ sandbox_id }) => ({ sessions: ptys.list(sandbox_id) }));
	handleChannel('pty', (params, ch) => ptys.attach(params, ch));
	const desktops = new DesktopManager(manager);
	handle('desktop.start', (params) => desktops.start(params));
	handle('desktop.stop', async ({ sandbox_id }) => ({ stopped: await desktops.stop(sandbox_id) }));
	handle('desktop.status', ({ sandbox_id }) => desktops.info(sandbox_id));
	handle('desktop.action', ({ sandbox_id, action }, ctx) => desktops.action(sandbox_id, action, ctx));
	handleChannel('vnc', ({ sandbox_id }, ch) => desktops.vnc(sandbox_id, ch));

	// --------------------------------------------------------------- connection
	const hostName = o.hostName || os.hostname();
	const hello = async (): Promise<Hello> => {
		let disk_mb = 0;
		try {
			const s = statfsSync(dataDir);
			disk_mb = Math.floor((s.bavail * s.bsize) / 1024 / 1024);
		} catch {
			/* ignore */
		}
		return {
			protocol: PROTOCOL_VERSION,
			agent_version: AGENT_VERSION,
			host: {
				name: hostName,
				region: o.region || 'local',
				labels: o.labels ?? {},
				drivers: ['bwrap'],
				capacity: { cpus: os.cpus().length, memory_mb: hostMemoryMb(), disk_mb, max_sandboxes: maxSandboxes }
			},
			templates: templates.list().map((t) => ({ id: t.id, status: t.status })),
			sandboxes: manager.list().map((s) => ({ id: s.id, state: s.state, template: s.template, started_at: s.started_at }))
		};
	};
	const usage = (): Usage => {
		const c = manager.counts();
		return {
			running_sandboxes: c.running,
			paused_sandboxes: c.paused,
			memory_used_mb: memUsedMb(),
			load: Math.round(os.loadavg()[0] * 100) / 100,
			pooled_sandboxes: p.count()
		};
	};
	connection = new AgentConnection({
		url: o.url,
		hostKey: o.hostKey,
		maxBackoffMs: o.maxBackoffMs,
		hello,
		usage,
		onWelcome: async (w) => {
			for (const id of w.destroy) {
				await manager.destroy(id).catch((e) => log.warn('destroy from welcome failed', { id, error: String(e) }));
			}
		},
		onRequest: async (method, params, ctx) => {
			const h = methods.get(method);
			if (!h) throw fault('METHOD_NOT_FOUND', `unknown method ${method}`);
			if (params === null || typeof params !== 'object') throw fault('INVALID_PARAMS', 'params must be an object');
			return h(params as never, ctx);
		},
		onChannel: async (kind, params, ch) => {
			const h = channels.get(kind);
			if (!h) throw fault('CHANNEL_KIND_UNSUPPORTED', `channel kind ${kind} is not supported by this agent`);
			await h(params as never, ch);
		}
	});

	// Warm up: host-minimal needs no real build; fill pools of every ready template.
	await templates.ensure('host-minimal').catch((e) => log.error('host-minimal template failed', { error: String(e) }));
	for (const t of templates.list()) if (t.status === 'ready') void pool.refill(t.id);
	connection.start();
	log.info('agent started', { dataDir, templateDir, url: o.url, cgroups: cgroups.mode, pool: pool.size });

	let stopping: Promise<void> | null = null;
	return {
		dataDir,
		helper,
		manager,
		pool,
		templates,
		processes,
		exec,
		ptys,
		desktops,
		connection,
		cgroups,
		snapshots,
		tcp,
		handle,
		handleChannel,
		stop() {
			if (!stopping)
				stopping = (async () => {
					await connection!.stop();
					ptys.shutdown();
					desktops.shutdown();
					await p.stop();
					await manager.shutdown();
					await cgroups.removeBase().catch(() => undefined);
					// A runtime dir outside the data dir is ours alone: leave nothing behind.
					if (runDir !== dataDir) await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
					setDefaultManager(null);
				})();
			return stopping;
		}
	};
}

// ------------------------------------------------------------------ CLI entry
const isMain = (() => {
	try {
		return !!process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
	} catch {
		return false;
	}
})();

if (isMain) {
	void (async () => {
		let agent: Agent;
		try {
			agent = await startAgent(optionsFromEnv());
		} catch (e) {
			log.error('agent failed to start', { error: String((e as Error).message) });
			process.exit(1);
		}
		const shutdown = (sig: string) => {
			log.info('shutting down', { signal: sig });
			const t = setTimeout(() => process.exit(1), 15_000);
			void agent.stop().then(() => {
				clearTimeout(t);
				process.exit(0);
			});
		};
		// Sandboxes die with this process: log stray errors instead of crashing.
		process.on('uncaughtException', (e) => log.error('uncaught exception', { error: String(e?.stack ?? e) }));
		process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: String(e) }));
		process.once('SIGTERM', () => shutdown('SIGTERM'));
		process.once('SIGINT', () => shutdown('SIGINT'));
	})();
}
