/**
 * exec.run: run a shell command in a sandbox, collect (and optionally stream) its output.
 * The command runs as its own process group; timeout and cancellation kill the whole group.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import type { ExecProgress, ExecRunParams, ExecRunResult, ProcessSignal } from '../src/lib/protocol/index';
import type { HandlerContext } from '../src/lib/protocol/peer';
import { fault } from './errors';
import type { SandboxManager } from './sandboxes';

export const EXEC_OUTPUT_CAP = 10 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_TIMEOUT_MS = 3_600_000;

/** Signal a process group until it is gone (or give up after ~2 s). */
export async function killGroup(hostPid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
	for (let i = 0; i < 100; i++) {
		try {
			process.kill(-hostPid, signal);
		} catch {
			return; // ESRCH: group empty
		}
		if (signal !== 'SIGKILL') return;
		await new Promise((r) => setTimeout(r, i < 10 ? 2 : 20));
	}
}

export function shellArgv(command: string, shell?: 'sh' | 'bash'): string[] {
	return shell === 'bash' ? ['/bin/bash', '-lc', command] : ['/bin/sh', '-c', command];
}

export class ExecRunner {
	private running = new Map<string, (signal: NodeJS.Signals) => void>();

	constructor(private readonly mgr: SandboxManager) {}

	kill(execId: string, signal: ProcessSignal = 'KILL'): boolean {
		const k = this.running.get(execId);
		if (!k) return false;
		k(`SIG${signal}` as NodeJS.Signals);
		return true;
	}

	async run(p: ExecRunParams, ctx?: HandlerContext): Promise<ExecRunResult> {
		if (!p || typeof p.sandbox_id !== 'string' || typeof p.command !== 'string')
			throw fault('INVALID_PARAMS', 'exec.run needs sandbox_id and command');
		const timeoutMs = Math.min(Math.max(1, Number(p.timeout_ms) || DEFAULT_TIMEOUT_MS), MAX_TIMEOUT_MS);
		const t0 = performance.now();
		const child = this.mgr.spawn(p.sandbox_id, shellArgv(p.command, p.shell), { cwd: p.cwd, env: p.env });
		const out = { stdout: [] as string[], stderr: [] as string[] };
		const size = { stdout: 0, stderr: 0 };
		let truncated = false;
		let timedOut = false;
		let killed = false;
		let streamed = 0;

		const collect = (stream: 'stdout' | 'stderr') => {
			const dec = new StringDecoder('utf8');
			const onText = (text: string) => {
				if (!text) return;
				if (size[stream] < EXEC_OUTPUT_CAP) {
					const room = EXEC_OUTPUT_CAP - size[stream];
					const part = text.length > room ? text.slice(0, room) : text;
					if (part.length < text.length) truncated = true;
					out[stream].push(part);
					size[stream] += part.length;
				} else truncated = true;
				if (p.stream && ctx && streamed < 4 * EXEC_OUTPUT_CAP) {
					streamed += text.length;
					ctx.progress({ stream, data: text } satisfies ExecProgress);
				}
			};
			const r = child[stream] as Readable;
			r.on('data', (c: Buffer) => onText(dec.write(c)));
			r.on('end', () => onText(dec.end()));
			r.on('error', () => undefined);
		};
		collect('stdout');
		collect('stderr');
		const stdin = child.stdin as Writable;
		stdin.on('error', () => undefined);
		stdin.end(typeof p.stdin === 'string' ? p.stdin : undefined);

		let hostPid = 0;
		const killAll = (signal: NodeJS.Signals) => {
			if (hostPid) void killGroup(hostPid, signal);
			else
				void child.sandboxPid.then(
					(r) => killGroup(r.hostPid, signal),
					() => undefined
				);
			if (signal === 'SIGKILL') {
				try {
					child.kill('SIGKILL');
				} catch {
					/* gone */
				}
			}
		};
		void child.sandboxPid.then(
			(r) => (hostPid = r.hostPid),
			() => undefined
		);
		const timer = setTimeout(() => {
			timedOut = true;
			killAll('SIGKILL');
		}, timeoutMs);
		const onAbort = () => {
			killed = true;
			killAll('SIGKILL');
		};
		ctx?.signal.addEventListener('abort', onAbort, { once: true });
		if (p.exec_id) {
			this.running.set(p.exec_id, (sig) => {
				if (sig === 'SIGKILL') killed = true;
				killAll(sig);
			});
		}

		try {
			const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
				(resolve, reject) => {
					child.once('error', reject);
					child.once('exit', (code, signal) => {
						// Give the pipes a moment to drain; background children may keep them open.
						let done = false;
						const finish = () => {
							if (!done) {
								done = true;
								resolve({ code, signal });
							}
						};
						child.once('close', finish);
						setTimeout(finish, 250);
					});
				}
			);
			const exit_code = code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : -1);
			return {
				stdout: out.stdout.join(''),
				stderr: out.stderr.join(''),
				exit_code,
				duration_ms: Math.round((performance.now() - t0) * 100) / 100,
				timed_out: timedOut,
				truncated,
				...(killed ? { killed: true } : {})
			};
		} finally {
			clearTimeout(timer);
			ctx?.signal.removeEventListener('abort', onAbort);
			if (p.exec_id) this.running.delete(p.exec_id);
			(child.stdout as Readable).destroy();
			(child.stderr as Readable).destroy();
		}
	}
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };
function signalNumber(s: string): number | undefined {
	return SIGNALS[s];
}
