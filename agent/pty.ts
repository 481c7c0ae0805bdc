/**
 * PTY sessions: interactive shells on pseudo-terminals inside sandboxes (node-pty over
 * `hangar-envd exec --tty`, so the shell runs in the sandbox's namespaces as uid 1000 with the
 * pty as its controlling terminal).
 *
 * A session is keyed by the session id the control plane picks and outlives its viewers: 'pty'
 * channels attach to it (several at once share the screen), closing a channel only detaches, and
 * attaching replays the last PTY_SCROLLBACK_BYTES of output. A session ends when its shell exits,
 * on pty.kill, when the sandbox goes away, or after `idleMs` with nobody attached; an ended
 * session is kept for a minute so a viewer that reconnects still learns the exit code.
 *
 * Flow control: output is written to every attached channel; when one of them is over its
 * high-water mark the pty is paused (the shell blocks on its writes) until they all drain. With
 * nobody attached the output only feeds the bounded scrollback, so a detached `yes` costs CPU but
 * no memory.
 */
import { existsSync } from 'node:fs';
import type { IPty } from 'node-pty';
import {
	PTY_FRAME_HEADER,
	PTY_IDLE_MS,
	PTY_SCROLLBACK_BYTES,
	PtyFrame,
	type Events,
	type PtyAttachParams,
	type PtyControl,
	type PtyCreateParams,
	type PtyEndReason,
	type PtySessionInfo
} from '../src/lib/protocol/index';
import type { Channel } from '../src/lib/protocol/peer';
import { fault } from './errors';
import { log } from './log';
import type { Sandbox, SandboxManager } from './sandboxes';

const MAX_SESSIONS_PER_SANDBOX = 32;
/** How long an ended session stays around for late viewers. */
const TOMBSTONE_MS = 60_000;
/** SIGHUP first (the shell hangs up its jobs), SIGKILL after this. */
const KILL_GRACE_MS = 2_000;
/** Pending input writes (node-pty's queue) above which we stop reading the channel. */
const MAX_PENDING_INPUT = 256;
const MAX_COLS = 1000;
const MAX_ROWS = 500;

type NodePty = typeof import('node-pty');
let nodePty: Promise<NodePty> | null = null;
/** node-pty is a native module: load it on first use so an agent without it still runs sandboxes. */
function loadPty(): Promise<NodePty> {
	nodePty ??= import('node-pty').then((m) => ((m as { default?: NodePty }).default?.spawn ? (m as { default: NodePty }).default : m));
	nodePty.catch(() => (nodePty = null));
	return nodePty;
}

/** The last `cap` bytes of output. */
class Scrollback {
	private chunks: Buffer[] = [];
	private size = 0;
	constructor(private readonly cap: number) {}

	push(b: Buffer): void {
		if (b.length >= this.cap) {
			this.chunks = [Buffer.from(b.subarray(b.length - this.cap))];
			this.size = this.cap;
			return;
		}
		this.chunks.push(b);
		this.size += b.length;
		while (this.size > this.cap) {
			const first = this.chunks[0];
			const over = this.size - this.cap;
			if (first.length <= over) {
				this.chunks.shift();
				this.size -= first.length;
			} else {
				this.chunks[0] = first.subarray(over);
				this.size -= over;
			}
		}
	}

	/** The buffered output; when it was cut, it starts after the first newline (no half lines or escapes). */
	snapshot(): Buffer {
		const all = Buffer.concat(this.chunks, this.size);
		if (this.size < this.cap) return all;
		const nl = all.indexOf(0x0a);
		return nl >= 0 && nl < 4096 ? all.subarray(nl + 1) : all;
	}
}

interface Session {
	id: string;
	sandboxId: string;
	shell: string[];
	cwd: string;
	cols: number;
	rows: number;
	createdAt: Date;
	lastActivity: number;
	term: IPty;
	scrollback: Scrollback;
	channels: Set<Channel>;
	/** Channels we wait on to drain before resuming the pty. */
	draining: Set<Channel>;
	paused: boolean;
	exit: { code: number | null; signal: string | null } | null;
	endReason: PtyEndReason | null;
	idleTimer: NodeJS.Timeout | null;
	killTimer: NodeJS.Timeout | null;
}

export interface PtyOptions {
	/** Kill a session this long after its last viewer detached (default 15 min). */
	idleMs?: number;
	scrollbackBytes?: number;
}

export function frame(type: number, payload: Buffer): Buffer {
	const out = Buffer.allocUnsafe(PTY_FRAME_HEADER + payload.length);
	out.writeUInt8(type, 0);
	out.writeUInt32BE(payload.length, 1);
	payload.copy(out, PTY_FRAME_HEADER);
	return out;
}
const controlFrame = (c: PtyControl) => frame(PtyFrame.control, Buffer.from(JSON.stringify(c)));

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 13: 'SIGPIPE', 15: 'SIGTERM' };

function dims(cols: unknown, rows: unknown): { cols: number; rows: number } {
	const c = Math.floor(Number(cols));
	const r = Math.floor(Number(rows));
	if (!Number.isFinite(c) || !Number.isFinite(r) || c < 1 || r < 1 || c > MAX_COLS || r > MAX_ROWS)
		throw fault('INVALID_PARAMS', `cols must be 1-${MAX_COLS} and rows 1-${MAX_ROWS}`);
	return { cols: c, rows: r };
}

function checkEnv(env: unknown): Record<string, string> | undefined {
	if (env === undefined || env === null) return undefined;
	if (typeof env !== 'object' || Array.isArray(env)) throw fault('INVALID_PARAMS', 'env must be an object of strings');
	for (const [k, v] of Object.entries(env)) {
		if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw fault('INVALID_PARAMS', `invalid env entry ${k}`);
	}
	return env as Record<string, string>;
}

export class PtyManager {
	private sessions = new Map<string, Session>();
	private readonly idleMs: number;
	private readonly scrollbackBytes: number;
	private stopped = false;

	constructor(
		private readonly mgr: SandboxManager,
		private readonly emit: <E extends keyof Events>(name: E, data: Events[E]) => void,
		o: PtyOptions = {}
	) {
		this.idleMs = o.idleMs ?? PTY_IDLE_MS;
		this.scrollbackBytes = o.scrollbackBytes ?? PTY_SCROLLBACK_BYTES;
		mgr.onGone.push((sb: Sandbox) => {
			if (!sb.id) return;
			for (const s of [...this.sessions.values()]) {
				if (s.sandboxId !== sb.id) continue;
				if (s.exit) this.sessions.delete(s.id);
				else this.kill(s, 'sandbox_gone', true);
			}
		});
	}

	// ------------------------------------------------------------------ methods

	/** pty.create: starts the shell (idempotent for an existing session of the same sandbox). */
	async create(p: PtyCreateParams): Promise<PtySessionInfo> {
		return this.info(await this.open(p));
	}

	resize(sandboxId: string, sessionId: string, cols: number, rows: number): PtySessionInfo {
		const s = this.find(sandboxId, sessionId);
		this.applySize(s, dims(cols, rows));
		return this.info(s);
	}

	killSession(sandboxId: string, sessionId: string): boolean {
		const s = this.find(sandboxId, sessionId);
		if (s.exit) return false;
		this.kill(s, 'killed');
		return true;
	}

	list(sandboxId: string): PtySessionInfo[] {
		this.mgr.get(sandboxId);
		return [...this.sessions.values()].filter((s) => s.sandboxId === sandboxId).map((s) => this.info(s));
	}

	/** Channel 'pty': attach (creating the session unless `create: false`), replay, then live. */
	async attach(p: PtyAttachParams, ch: Channel): Promise<void> {
		if (!p || typeof p.sandbox_id !== 'string' || typeof p.session_id !== 'string')
			throw fault('INVALID_PARAMS', 'pty channel needs sandbox_id and session_id');
		let s = this.sessions.get(p.session_id);
		if (s && s.sandboxId !== p.sandbox_id) throw fault('SESSION_NOT_FOUND', `session ${p.session_id} not found`);
		if (!s) {
			if (p.create === false) throw fault('SESSION_NOT_FOUND', `session ${p.session_id} not found`);
			const size = p.cols !== undefined && p.rows !== undefined ? dims(p.cols, p.rows) : { cols: 80, rows: 24 };
			s = await this.open({ ...p, ...size });
		} else if (!s.exit && p.cols !== undefined && p.rows !== undefined) {
			this.applySize(s, dims(p.cols, p.rows));
		}
		const session = s;
		const replay = session.scrollback.snapshot();
		ch.write(controlFrame({ type: 'attached', session: this.info(session), replay_bytes: replay.length }));
		if (replay.length) ch.write(frame(PtyFrame.data, replay));
		if (session.exit) {
			ch.write(controlFrame({ type: 'exit', exit_code: session.exit.code, signal: session.exit.signal }));
			ch.end();
			ch.resume();
			return;
		}
		session.channels.add(ch);
		if (session.idleTimer) clearTimeout(session.idleTimer);
		session.idleTimer = null;

		let polling: NodeJS.Timeout | null = null;
		ch.on('data', (buf: Buffer) => {
			if (session.exit) return;
			session.lastActivity = Date.now();
			session.term.write(buf);
			// node-pty queues writes it cannot hand to the kernel yet; stop reading when that grows.
			if (!polling && pendingInput(session.term) > MAX_PENDING_INPUT) {
				ch.pause();
				polling = setInterval(() => {
					if (session.exit || pendingInput(session.term) <= MAX_PENDING_INPUT / 4) {
						clearInterval(polling!);
						polling = null;
						ch.resume();
					}
				}, 20);
				polling.unref();
			}
		});
		// The control plane finished sending: finish our side too (the close detaches).
		ch.on('end', () => {
			if (!ch.writableEnded) ch.end();
		});
		const detach = () => {
			if (polling) clearInterval(polling);
			polling = null;
			this.detach(session, ch);
		};
		ch.once('close', detach);
		ch.on('error', () => undefined);
	}

	/** Agent stop: end every session. */
	shutdown(): void {
		this.stopped = true;
		for (const s of this.sessions.values()) {
			if (s.idleTimer) clearTimeout(s.idleTimer);
			if (!s.exit) this.kill(s, 'sandbox_gone', true);
		}
	}

	// ------------------------------------------------------------------ internals

	private find(sandboxId: string, sessionId: string): Session {
		const s = this.sessions.get(sessionId);
		if (!s || s.sandboxId !== sandboxId) throw fault('SESSION_NOT_FOUND', `session ${sessionId} not found`);
		return s;
	}

	private defaultShell(sb: Sandbox): string[] {
		// As root we can look into the sandbox's root through its init process.
		try {
			if (existsSync(`/proc/${sb.inst.initPid}/root/bin/bash`)) return ['/bin/bash', '-l'];
		} catch {
			/* fall through */
		}
		return ['/bin/sh'];
	}

	private async open(p: PtyCreateParams): Promise<Session> {
		if (this.stopped) throw fault('INTERNAL', 'the agent is stopping');
		if (!p || typeof p.sandbox_id !== 'string' || typeof p.session_id !== 'string' || !p.session_id)
			throw fault('INVALID_PARAMS', 'pty.create needs sandbox_id and session_id');
		if (p.session_id.length > 128) throw fault('INVALID_PARAMS', 'session_id is too long');
		const existing = this.sessions.get(p.session_id);
		if (existing) {
			if (existing.sandboxId !== p.sandbox_id || existing.exit) throw fault('INVALID_PARAMS', `session id ${p.session_id} is in use`);
			return existing;
		}
		const { cols, rows } = dims(p.cols, p.rows);
		const env = checkEnv(p.env);
		if (p.shell !== undefined && (typeof p.shell !== 'string' || !p.shell.trim())) throw fault('INVALID_PARAMS', 'shell must be a non-empty string');
		if (p.cwd !== undefined && (typeof p.cwd !== 'string' || !p.cwd.startsWith('/'))) throw fault('INVALID_PARAMS', 'cwd must be an absolute path');
		const sb = this.mgr.get(p.sandbox_id);
		let live = 0;
		for (const s of this.sessions.values()) if (s.sandboxId === p.sandbox_id && !s.exit) live++;
		if (live >= MAX_SESSIONS_PER_SANDBOX) throw fault('CAPACITY', `at most ${MAX_SESSIONS_PER_SANDBOX} terminal sessions per sandbox`);
		const shell = p.shell ? p.shell.trim().split(/\s+/) : this.defaultShell(sb);
		const cwd = p.cwd || '/workspace';
		// Throws SANDBOX_NOT_FOUND / SANDBOX_PAUSED.
		const cmd = this.mgr.command(p.sandbox_id, shell, { tty: true, cwd, env: { COLORTERM: 'truecolor', ...(env ?? {}) } });
		// A readable prompt where the image has no profile setting one (bash's own is `bash-5.2$`).
		cmd.env.PS1 ??= '\\u@\\h:\\w\\$ ';
		const pty = await loadPty().catch((e: Error) => {
			throw fault('INTERNAL', `node-pty is not available: ${e.message}`);
		});
		// The race with another create for the same id across the await above.
		const raced = this.sessions.get(p.session_id);
		if (raced) {
			if (raced.sandboxId !== p.sandbox_id || raced.exit) throw fault('INVALID_PARAMS', `session id ${p.session_id} is in use`);
			return raced;
		}
		// cwd here is the host side of the fork; the helper changes into `cwd` inside the sandbox.
		const term = pty.spawn(cmd.file, cmd.args, { name: 'xterm-256color', cols, rows, cwd: '/', env: cmd.env, encoding: null });
		const now = new Date();
		const s: Session = {
			id: p.session_id,
			sandboxId: p.sandbox_id,
			shell,
			cwd,
			cols,
			rows,
			createdAt: now,
			lastActivity: now.getTime(),
			term,
			scrollback: new Scrollback(this.scrollbackBytes),
			channels: new Set(),
			draining: new Set(),
			paused: false,
			exit: null,
			endReason: null,
			idleTimer: null,
			killTimer: null
		};
		this.sessions.set(s.id, s);
		term.onData((d: string | Buffer) => this.output(s, typeof d === 'string' ? Buffer.from(d) : d));
		term.onExit(({ exitCode, signal }) => this.exited(s, exitCode, signal ?? 0));
		// Nobody attached yet: the idle clock runs from creation.
		this.armIdle(s);
		log.debug('pty session started', { session: s.id, sandbox: s.sandboxId, shell });
		return s;
	}

	private info(s: Session): PtySessionInfo {
		return {
			session_id: s.id,
			sandbox_id: s.sandboxId,
			shell: [...s.shell],
			cwd: s.cwd,
			cols: s.cols,
			rows: s.rows,
			state: s.exit ? 'exited' : 'running',
			attached: s.channels.size,
			created_at: s.createdAt.toISOString(),
			last_activity_at: new Date(s.lastActivity).toISOString(),
			...(s.exit ? { exit_code: s.exit.code, signal: s.exit.signal } : {})
		};
	}

	private applySize(s: Session, d: { cols: number; rows: number }): void {
		if (s.exit) throw fault('SESSION_NOT_FOUND', `session ${s.id} has ended`);
		if (d.cols === s.cols && d.rows === s.rows) return;
		s.cols = d.cols;
		s.rows = d.rows;
		try {
			s.term.resize(d.cols, d.rows);
		} catch (e) {
			log.debug('pty resize failed', { session: s.id, error: String(e) });
		}
	}

	private output(s: Session, data: Buffer): void {
		s.lastActivity = Date.now();
		s.scrollback.push(data);
		if (!s.channels.size) return;
		const f = frame(PtyFrame.data, data);
		for (const ch of s.channels) {
			if (ch.destroyed || ch.writableEnded) continue;
			if (!ch.write(f) && !s.draining.has(ch)) {
				s.draining.add(ch);
				ch.once('drain', () => {
					s.draining.delete(ch);
					this.maybeResume(s);
				});
			}
		}
		if (s.draining.size && !s.paused) {
			s.paused = true;
			s.term.pause();
		}
	}

	private maybeResume(s: Session): void {
		if (!s.paused || s.draining.size || s.exit) return;
		s.paused = false;
		s.term.resume();
	}

	private detach(s: Session, ch: Channel): void {
		s.channels.delete(ch);
		s.draining.delete(ch);
		this.maybeResume(s);
		if (!s.channels.size && !s.exit) this.armIdle(s);
	}

	private armIdle(s: Session): void {
		if (s.idleTimer) clearTimeout(s.idleTimer);
		s.idleTimer = setTimeout(() => {
			s.idleTimer = null;
			if (!s.channels.size && !s.exit) {
				log.info('pty session idle, killing it', { session: s.id, sandbox: s.sandboxId });
				this.kill(s, 'idle');
			}
		}, this.idleMs);
		s.idleTimer.unref();
	}

	private kill(s: Session, reason: PtyEndReason, now = false): void {
		s.endReason ??= reason;
		if (s.paused) {
			s.paused = false;
			s.term.resume();
		}
		try {
			s.term.kill(now ? 'SIGKILL' : 'SIGHUP');
		} catch {
			/* gone */
		}
		if (!now && !s.killTimer) {
			s.killTimer = setTimeout(() => {
				if (!s.exit)
					try {
						s.term.kill('SIGKILL');
					} catch {
						/* gone */
					}
			}, KILL_GRACE_MS);
			s.killTimer.unref();
		}
	}

	private exited(s: Session, exitCode: number, signal: number): void {
		if (s.exit) return;
		// The helper exits with the shell's status (128+n when a signal killed it).
		let code: number | null = exitCode;
		let sig: string | null = null;
		if (signal) {
			code = 128 + signal;
			sig = SIGNALS[signal] ?? `SIG${signal}`;
		} else if (exitCode > 128 && exitCode < 160) sig = SIGNALS[exitCode - 128] ?? `SIG${exitCode - 128}`;
		s.exit = { code, signal: sig };
		if (s.idleTimer) clearTimeout(s.idleTimer);
		if (s.killTimer) clearTimeout(s.killTimer);
		s.idleTimer = s.killTimer = null;
		const exitFrame = controlFrame({ type: 'exit', exit_code: code, signal: sig });
		for (const ch of s.channels) {
			if (ch.destroyed || ch.writableEnded) continue;
			ch.write(exitFrame);
			ch.end();
		}
		s.channels.clear();
		s.draining.clear();
		const reason = s.endReason ?? 'exited';
		log.debug('pty session ended', { session: s.id, sandbox: s.sandboxId, code, signal: sig, reason });
		this.emit('pty.exited', { sandbox_id: s.sandboxId, session_id: s.id, exit_code: code, signal: sig, reason });
		if (reason === 'sandbox_gone') this.sessions.delete(s.id);
		else setTimeout(() => this.sessions.get(s.id) === s && this.sessions.delete(s.id), TOMBSTONE_MS).unref();
	}
}

/** Writes node-pty has queued but not yet handed to the kernel (private field; 0 when unknown). */
function pendingInput(term: IPty): number {
	const q = (term as unknown as { _writeStream?: { _writeQueue?: unknown[] } })._writeStream?._writeQueue;
	return Array.isArray(q) ? q.length : 0;
}
