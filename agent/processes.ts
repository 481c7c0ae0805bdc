/**
 * Background processes: long-running commands in a sandbox with stdin, a log ring buffer
 * (last 1 MiB, line-based, tagged stdout/stderr), signals, stop (TERM → KILL), follow streams
 * (channel kind 'process-logs') and a process.exited event.
 *
 * Processes are identified by their pid inside the sandbox (its pid namespace). A pid is unique
 * among running processes of a sandbox; when an exited entry's pid is reused, the old entry is
 * replaced.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import type {
	Events,
	LogLine,
	ProcessInfo,
	ProcessLogsResult,
	ProcessSignal,
	ProcessStartParams
} from '../src/lib/protocol/index';
import type { Channel } from '../src/lib/protocol/peer';
import { fault } from './errors';
import { killGroup, shellArgv } from './exec';
import type { Sandbox, SandboxChild, SandboxManager } from './sandboxes';

export const LOG_RING_BYTES = 1024 * 1024;
const MAX_LINE = 64 * 1024;
const MAX_EXITED_PER_SANDBOX = 100;
const SIGNALS: ProcessSignal[] = ['TERM', 'KILL', 'INT', 'HUP', 'STOP', 'CONT', 'USR1', 'USR2', 'QUIT'];

type Chunk = { stream: 'stdout' | 'stderr'; data: string };

class LogRing {
	lines: LogLine[] = [];
	bytes = 0;
	truncated = false;
	private partial = { stdout: '', stderr: '' };

	add(stream: 'stdout' | 'stderr', text: string): void {
		let buf = this.partial[stream] + text;
		let i: number;
		while ((i = buf.indexOf('\n')) >= 0) {
			this.push(stream, buf.slice(0, i));
			buf = buf.slice(i + 1);
		}
		while (buf.length > MAX_LINE) {
			this.push(stream, buf.slice(0, MAX_LINE));
			buf = buf.slice(MAX_LINE);
		}
		this.partial[stream] = buf;
	}

	private push(stream: 'stdout' | 'stderr', line: string): void {
		this.lines.push({ stream, line, ts: Date.now() });
		this.bytes += line.length + 1;
		while (this.bytes > LOG_RING_BYTES && this.lines.length) {
			this.bytes -= this.lines.shift()!.line.length + 1;
			this.truncated = true;
		}
	}

	snapshot(tail?: number): LogLine[] {
		const all = [...this.lines];
		for (const s of ['stdout', 'stderr'] as const)
			if (this.partial[s]) all.push({ stream: s, line: this.partial[s], ts: Date.now() });
		return tail && tail > 0 ? all.slice(-tail) : all;
	}
}

interface Proc {
	info: ProcessInfo;
	hostPid: number;
	child: SandboxChild;
	ring: LogRing;
	followers: Set<(c: Chunk | null) => void>;
	exited: Promise<void>;
}

export class ProcessManager {
	private bySandbox = new Map<string, Map<number, Proc>>();
	private gone = new Set<string>();

	constructor(
		private readonly mgr: SandboxManager,
		private readonly emit: <E extends keyof Events>(name: E, data: Events[E]) => void
	) {
		mgr.onGone.push((sb: Sandbox) => {
			if (!sb.id) return;
			const procs = this.bySandbox.get(sb.id);
			if (!procs) return;
			this.gone.add(sb.id);
			this.bySandbox.delete(sb.id);
			for (const p of procs.values()) for (const f of p.followers) f(null);
			setTimeout(() => this.gone.delete(sb.id!), 10_000).unref();
		});
	}

	private proc(sandboxId: string, pid: number): Proc {
		this.mgr.get(sandboxId);
		const p = this.bySandbox.get(sandboxId)?.get(Number(pid));
		if (!p) throw fault('PROCESS_NOT_FOUND', `process ${pid} not found in sandbox ${sandboxId}`);
		return p;
	}

	async start(params: ProcessStartParams): Promise<ProcessInfo> {
		if (!params || typeof params.sandbox_id !== 'string' || typeof params.command !== 'string')
			throw fault('INVALID_PARAMS', 'process.start needs sandbox_id and command');
		const sandboxId = params.sandbox_id;
		const cwd = params.cwd || '/workspace';
		const child = this.mgr.spawn(sandboxId, shellArgv(params.command, params.shell), { cwd, env: params.env });
		const ring = new LogRing();
		const followers = new Set<(c: Chunk | null) => void>();
		const feed = (stream: 'stdout' | 'stderr') => {
			const dec = new StringDecoder('utf8');
			const on = (data: string) => {
				if (!data) return;
				ring.add(stream, data);
				for (const f of followers) f({ stream, data });
			};
			(child[stream] as Readable).on('data', (c: Buffer) => on(dec.write(c)));
			(child[stream] as Readable).on('end', () => on(dec.end()));
		};
		feed('stdout');
		feed('stderr');
		(child.stdin as Writable).on('error', () => undefined);
		let ids: { hostPid: number; pid: number };
		try {
			ids = await child.sandboxPid;
		} catch (e) {
			child.kill('SIGKILL');
			throw fault('INTERNAL', `process failed to start: ${(e as Error).message}`);
		}
		const info: ProcessInfo = {
			pid: ids.pid,
			name: params.name || params.command.slice(0, 64),
			command: params.command,
			cwd,
			state: 'running',
			started_at: new Date().toISOString()
		};
		let procs = this.bySandbox.get(sandboxId);
		if (!procs) {
			procs = new Map();
			this.bySandbox.set(sandboxId, procs);
		}
		const proc: Proc = {
			info,
			hostPid: ids.hostPid,
			child,
			ring,
			followers,
			exited: new Promise<void>((resolve) => {
				child.once('exit', (code) => {
					// Let the pipes drain so the last output is in the ring before we report.
					let done = false;
					const finish = () => {
						if (done) return;
						done = true;
						info.state = 'exited';
						info.exited_at = new Date().toISOString();
						if (code !== null && code > 128 && code < 160) {
							info.exit_code = code;
							info.signal = signalName(code - 128);
						} else info.exit_code = code ?? -1;
						for (const f of followers) f(null);
						followers.clear();
						if (!this.gone.has(sandboxId) && this.bySandbox.has(sandboxId)) {
							this.emit('process.exited', {
								sandbox_id: sandboxId,
								pid: info.pid,
								name: info.name,
								exit_code: info.exit_code ?? null,
								signal: info.signal ?? null
							});
						}
						resolve();
					};
					child.once('close', finish);
					setTimeout(finish, 250);
				});
			})
		};
		procs.set(info.pid, proc);
		this.trimExited(procs);
		return { ...info };
	}

	private trimExited(procs: Map<number, Proc>): void {
		const exited = [...procs.values()].filter((p) => p.info.state === 'exited');
		for (const p of exited.slice(0, Math.max(0, exited.length - MAX_EXITED_PER_SANDBOX))) procs.delete(p.info.pid);
	}

	list(sandboxId: string): ProcessInfo[] {
		this.mgr.get(sandboxId);
		return [...(this.bySandbox.get(sandboxId)?.values() ?? [])].map((p) => ({ ...p.info }));
	}

	get(sandboxId: string, pid: number): ProcessInfo {
		return { ...this.proc(sandboxId, pid).info };
	}

	signal(sandboxId: string, pid: number, signal: ProcessSignal, group = true): void {
		if (!SIGNALS.includes(signal)) throw fault('INVALID_PARAMS', `unsupported signal ${signal}`);
		const p = this.proc(sandboxId, pid);
		if (p.info.state === 'exited') throw fault('PROCESS_NOT_FOUND', `process ${pid} has exited`);
		try {
			process.kill(group ? -p.hostPid : p.hostPid, `SIG${signal}` as NodeJS.Signals);
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
		}
	}

	async stop(sandboxId: string, pid: number, graceMs = 5000): Promise<ProcessInfo> {
		const p = this.proc(sandboxId, pid);
		if (p.info.state === 'running') {
			try {
				process.kill(-p.hostPid, 'SIGCONT');
				process.kill(-p.hostPid, 'SIGTERM');
			} catch {
				/* gone */
			}
			const t = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), Math.max(0, graceMs)).unref());
			if ((await Promise.race([p.exited.then(() => 'exited' as const), t])) === 'timeout') {
				await killGroup(p.hostPid, 'SIGKILL');
				p.child.kill('SIGKILL');
				await p.exited;
			}
		}
		return { ...p.info };
	}

	stdin(sandboxId: string, pid: number, data?: string, dataB64?: string, eof?: boolean): void {
		const p = this.proc(sandboxId, pid);
		const w = p.child.stdin as Writable;
		if (p.info.state === 'exited' || w.writableEnded) throw fault('PROCESS_NOT_FOUND', `stdin of ${pid} is closed`);
		if (typeof dataB64 === 'string') w.write(Buffer.from(dataB64, 'base64'));
		else if (typeof data === 'string') w.write(data);
		if (eof) w.end();
	}

	logs(sandboxId: string, pid: number, tail?: number): ProcessLogsResult {
		const p = this.proc(sandboxId, pid);
		return { lines: p.ring.snapshot(tail), truncated: p.ring.truncated };
	}

	/** Channel 'process-logs': NDJSON {stream,data} chunks, replaying `tail` lines first; ends with {exit_code} when the process exits. */
	follow(sandboxId: string, pid: number, tail: number | undefined, ch: Channel): void {
		const p = this.proc(sandboxId, pid);
		const write = (obj: unknown) => {
			if (ch.destroyed || ch.writableEnded) return;
			if (ch.writableLength > 4 * 1024 * 1024) return; // slow consumer: drop
			ch.write(JSON.stringify(obj) + '\n');
		};
		if (tail && tail > 0) for (const l of p.ring.snapshot(tail)) write({ stream: l.stream, data: l.line + '\n' });
		const finish = () => {
			write({ exit_code: p.info.exit_code ?? null, signal: p.info.signal ?? null });
			if (!ch.destroyed) ch.end();
		};
		if (p.info.state === 'exited') return finish();
		const f = (c: Chunk | null) => {
			if (c) write(c);
			else {
				p.followers.delete(f);
				finish();
			}
		};
		p.followers.add(f);
		ch.on('close', () => p.followers.delete(f));
		ch.on('error', () => p.followers.delete(f));
		ch.resume(); // ignore anything the other side sends
	}
}

const NAMES: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 10: 'SIGUSR1', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };
function signalName(n: number): string {
	return NAMES[n] ?? `SIG${n}`;
}
