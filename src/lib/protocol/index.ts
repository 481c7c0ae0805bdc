/**
 * Hangar agent wire protocol, version 1.
 *
 * One WebSocket per host agent (agent dials `ws(s)://<control plane>/ws/agent` with
 * `Authorization: Bearer <host key>` and `x-hangar-protocol: 1`). Text frames carry JSON control
 * messages (`Message` below); binary frames carry channel bytes as `[u32 BE channel id][payload]`.
 *
 * Plain TypeScript: no Node, SvelteKit or DOM imports here (the Node runtime pieces live in
 * `peer.ts`). See README.md in this folder for the message flow.
 */

import type { DesktopAction, DesktopActionResult, DesktopInfo, DesktopStartParams } from './desktop';
export * from './desktop';

export const PROTOCOL_VERSION = 1 as const;
export const AGENT_WS_PATH = '/ws/agent';
/** Request header the agent sends with its protocol version; the hub answers 426 on mismatch. */
export const PROTOCOL_HEADER = 'x-hangar-protocol';

/** Maximum payload of one binary channel frame (the 4-byte header comes on top). */
export const CHANNEL_FRAME_MAX = 64 * 1024;
/** Flow-control window: bytes a sender may have in flight per channel before an ack. */
export const CHANNEL_WINDOW = 1024 * 1024;
/** Agent heartbeat interval. */
export const HEARTBEAT_INTERVAL_MS = 5_000;

// ------------------------------------------------------------------------------------------
// Handshake

export type SandboxState = 'running' | 'paused';
export type TemplateStatus = 'ready' | 'building' | 'failed' | 'absent';
export type DriverName = 'bwrap' | 'microvm';

export interface HostCapacity {
	cpus: number;
	memory_mb: number;
	disk_mb: number;
	max_sandboxes: number;
}

export interface HostInfo {
	name: string;
	region: string;
	labels: Record<string, string>;
	drivers: DriverName[];
	capacity: HostCapacity;
}

export interface HelloSandbox {
	id: string;
	state: SandboxState;
	template: string;
	/** ISO 8601 */
	started_at: string;
}

export interface Hello {
	protocol: number;
	agent_version: string;
	host: HostInfo;
	templates: { id: string; status: TemplateStatus }[];
	sandboxes: HelloSandbox[];
}

export interface Welcome {
	protocol: number;
	host_id: string;
	/** Sandbox ids the control plane no longer knows: the agent destroys them. */
	destroy: string[];
}

export interface Usage {
	running_sandboxes: number;
	paused_sandboxes: number;
	/** Host memory in use (total - available), MiB. */
	memory_used_mb: number;
	/** 1-minute load average. */
	load: number;
	/** Warm sandboxes waiting in the pool (not counted as running). */
	pooled_sandboxes: number;
}

// ------------------------------------------------------------------------------------------
// Errors

export const ErrorCodes = [
	'INVALID_PARAMS',
	'METHOD_NOT_FOUND',
	'SANDBOX_NOT_FOUND',
	'SANDBOX_EXISTS',
	'SANDBOX_PAUSED',
	'SANDBOX_NOT_RUNNING',
	'TEMPLATE_NOT_FOUND',
	'TEMPLATE_NOT_READY',
	'TEMPLATE_BUILD_FAILED',
	'PROCESS_NOT_FOUND',
	'EXEC_NOT_FOUND',
	'SESSION_NOT_FOUND',
	'CHANNEL_KIND_UNSUPPORTED',
	'CAPACITY',
	'CANCELLED',
	'TIMEOUT',
	'PROTOCOL_MISMATCH',
	'INTERNAL',
	// files.* and file channels
	'NOT_FOUND',
	'FORBIDDEN_PATH',
	'FILE_TOO_LARGE',
	'ALREADY_EXISTS',
	'NOT_EMPTY',
	'IS_A_DIRECTORY',
	'NOT_A_DIRECTORY',
	'NO_SPACE',
	// desktop.*
	'DESKTOP_NOT_RUNNING',
	'DESKTOP_UNAVAILABLE',
	'DESKTOP_ACTION_FAILED',
	// tcp channels and snapshots
	'CONNECTION_REFUSED',
	'SNAPSHOT_NOT_FOUND'
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export interface WireError {
	code: ErrorCode | string;
	message: string;
}

// ------------------------------------------------------------------------------------------
// Sandboxes

export interface SandboxSize {
	/** vCPUs (CFS quota); capped at the host's cpu count. */
	cpus: number;
	/** Memory limit; capped at a fraction of host memory. */
	memory_mb: number;
	/** Max processes/threads (fork-bomb guard). Default 512. */
	pids_max?: number;
}

/** Contract sizes; the control plane maps a size name to these numbers. */
export const SANDBOX_SIZES: Record<'xs' | 'small' | 'medium' | 'large' | 'xl', SandboxSize> = {
	xs: { cpus: 1, memory_mb: 2048, pids_max: 512 },
	small: { cpus: 2, memory_mb: 4096, pids_max: 1024 },
	medium: { cpus: 4, memory_mb: 8192, pids_max: 2048 },
	large: { cpus: 8, memory_mb: 16384, pids_max: 4096 },
	xl: { cpus: 16, memory_mb: 32768, pids_max: 8192 }
};

export interface SandboxCreateParams {
	id: string;
	template: string;
	size: SandboxSize;
	/** Environment for every process started in the sandbox. */
	env?: Record<string, string>;
	/** Outbound network through slirp4netns (no host loopback / private ranges). */
	network?: boolean;
	hostname?: string;
	/** Seed the writable layer from this snapshot (taken on this host) before booting; always a cold boot. */
	from_snapshot?: string;
}
export interface SandboxCreateResult {
	boot_ms: number;
	boot_path: 'warm' | 'cold';
	/** Limits actually applied after scaling to the host. */
	limits: { cpus: number; memory_mb: number; pids_max: number };
}

export interface SandboxInfo {
	id: string;
	state: SandboxState;
	template: string;
	started_at: string;
	network: boolean;
	hostname: string;
	limits: { cpus: number; memory_mb: number; pids_max: number };
}

export interface SandboxStats {
	memory_bytes: number;
	cpu_usage_ns: number;
	pids: number;
}

// ------------------------------------------------------------------------------------------
// Exec

export interface ExecRunParams {
	sandbox_id: string;
	/** Run by `/bin/sh -c` (or `bash -lc` when shell = 'bash'). */
	command: string;
	shell?: 'sh' | 'bash';
	cwd?: string;
	env?: Record<string, string>;
	/** Kill the whole process group after this long; default 60 000, max 3 600 000. */
	timeout_ms?: number;
	/** Written to stdin, then stdin is closed. */
	stdin?: string;
	/** Send ExecProgress frames (`progress` messages tied to this request) as output arrives. */
	stream?: boolean;
	/** Caller-chosen id so the run can be killed with exec.kill. */
	exec_id?: string;
}
export interface ExecRunResult {
	stdout: string;
	stderr: string;
	exit_code: number;
	duration_ms: number;
	timed_out: boolean;
	/** True when the output went over the cap (10 MiB per stream) and was cut. */
	truncated: boolean;
	/** Set when killed by exec.kill or a cancelled call. */
	killed?: boolean;
}
export interface ExecProgress {
	stream: 'stdout' | 'stderr';
	data: string;
}

// ------------------------------------------------------------------------------------------
// Background processes

export type ProcessSignal = 'TERM' | 'KILL' | 'INT' | 'HUP' | 'STOP' | 'CONT' | 'USR1' | 'USR2' | 'QUIT';

export interface ProcessInfo {
	/** The process's pid inside the sandbox (its pid namespace); stable id within the sandbox. */
	pid: number;
	name: string;
	command: string;
	cwd: string;
	state: 'running' | 'exited';
	exit_code?: number;
	/** Set when the process was ended by a signal (e.g. 'SIGKILL'). */
	signal?: string;
	started_at: string;
	exited_at?: string;
}

export interface ProcessStartParams {
	sandbox_id: string;
	command: string;
	shell?: 'sh' | 'bash';
	cwd?: string;
	env?: Record<string, string>;
	name?: string;
}
export interface ProcessRef {
	sandbox_id: string;
	pid: number;
}
export interface ProcessSignalParams extends ProcessRef {
	signal: ProcessSignal;
	/** Send to the process group (default true) or to the process only. */
	group?: boolean;
}
export interface ProcessStopParams extends ProcessRef {
	/** SIGTERM, then SIGKILL after this many ms (default 5000). */
	grace_ms?: number;
}
export interface ProcessStdinParams extends ProcessRef {
	/** UTF-8 text to write. */
	data?: string;
	/** Base64 bytes to write (instead of data). */
	data_b64?: string;
	/** Close stdin after writing. */
	eof?: boolean;
}
export interface ProcessLogsParams extends ProcessRef {
	/** Last N lines (default: everything in the ring buffer, 1 MiB). */
	tail?: number;
}
export interface LogLine {
	stream: 'stdout' | 'stderr';
	/** One line without its newline (a partial last line is included as is). */
	line: string;
	/** ms since epoch */
	ts: number;
}
export interface ProcessLogsResult {
	lines: LogLine[];
	/** Older output was dropped from the ring buffer. */
	truncated: boolean;
}

// ------------------------------------------------------------------------------------------
// Templates

export type TemplateBase = 'host' | { debootstrap: { suite: string; variant?: 'minbase' | 'buildd' } };

export interface TemplateSpec {
	id: string;
	name: string;
	description: string;
	base: TemplateBase;
	packages: string[];
	commands: string[];
	workdir: string;
	preview_port?: number;
	install_command?: string;
	start_command?: string;
	readiness_probe?: { http?: { port: number; path: string }; tcp?: { port: number }; exec?: string };
	env?: Record<string, string>;
}

export interface TemplateInfo {
	id: string;
	name: string;
	status: TemplateStatus;
	/** sha256 of the canonical spec (content address). */
	hash: string;
	error?: string;
	built_at?: string;
	spec: TemplateSpec;
}

export interface TemplateEnsureResult {
	id: string;
	hash: string;
	status: TemplateStatus;
}

export interface TemplateProgressEvent {
	id: string;
	hash: string;
	phase: 'debootstrap' | 'packages' | 'commands' | 'finalize';
	percent: number;
	line?: string;
}

// ------------------------------------------------------------------------------------------
// Channels

/**
 * Channel kinds. Implemented in v1: 'process-logs' (agent → control plane NDJSON lines of
 * `{stream, data}` for a background process, then EOF when it exits), 'echo' (diagnostics:
 * echoes bytes back), 'pty' (a terminal session; framing above `PtyFrame`) and the file
 * channels 'file-read', 'file-write', 'file-tar', 'file-watch' (see Files below), and 'tcp' (a byte stream to 127.0.0.1:port in the sandbox's
 * network namespace; `channel.open` fails with CONNECTION_REFUSED when nothing listens).
 */
export interface ChannelKinds {
	'process-logs': { sandbox_id: string; pid: number; /** replay the last N lines first */ tail?: number };
	echo: Record<string, never>;
	/** Attaches to a PTY session (see `PtyAttachParams` and the framing in `PtyFrame`). */
	pty: PtyAttachParams;
	/** Bytes both ways to `host` (a loopback address, default 127.0.0.1):port inside the sandbox. */
	tcp: { sandbox_id: string; port: number; host?: string };
	/** Agent → control plane: one JSON line `FileReadHeader`, then the file's bytes, then EOF. */
	'file-read': FilesPathParams;
	/** Control plane → agent: the bytes, then EOF (commits: atomic replace). Agent → control
	 * plane: one JSON line `FileWriteResult`, then EOF. Closing the channel early aborts. */
	'file-write': FileWriteParams;
	/** Agent → control plane: a tar archive (GNU format) of the paths, then EOF. */
	'file-tar': FileTarParams;
	/** Agent → control plane: NDJSON `FileWatchEvent`s (first `{"type":"ready"}`) until closed. */
	'file-watch': FileWatchParams;
	/** Raw RFB bytes to/from the desktop's Xvnc unix socket inside the sandbox (see desktop.ts). */
	vnc: { sandbox_id: string };
}
export type ChannelKind = keyof ChannelKinds;

export interface ChannelOpenParams<K extends ChannelKind = ChannelKind> {
	/** Chosen by the opener (the control plane). */
	channel: number;
	kind: K;
	params: ChannelKinds[K];
}

// ------------------------------------------------------------------------------------------
// PTY sessions (agent/pty.ts)
//
// A session is a shell on a pseudo-terminal inside a sandbox, keyed by a session id the control
// plane picks. It outlives its viewers: a 'pty' channel attaches to it (several may at once),
// closing the channel detaches and the shell keeps running. It ends when the shell exits, on
// pty.kill, when the sandbox goes away, or after PTY_IDLE_MS with nobody attached.
//
// Channel framing: control plane → agent is raw input bytes for the terminal. Agent → control
// plane is a sequence of frames `[u8 type][u32 BE length][payload]` (a frame may span channel
// chunks): type 1 = terminal output bytes, type 2 = a JSON `PtyControl`. On attach the agent sends
// `attached`, then the scrollback (last PTY_SCROLLBACK_BYTES of output) as one data frame, then
// live output; when the shell exits, `exit` and then EOF.

export const PtyFrame = { data: 1, control: 2 } as const;
export const PTY_FRAME_HEADER = 5;
export const PTY_SCROLLBACK_BYTES = 64 * 1024;
/** Detached sessions are killed after this long with nobody attached (agent default). */
export const PTY_IDLE_MS = 15 * 60_000;

export interface PtySessionInfo {
	session_id: string;
	sandbox_id: string;
	/** argv of the shell, e.g. ['/bin/bash', '-l']. */
	shell: string[];
	cwd: string;
	cols: number;
	rows: number;
	state: 'running' | 'exited';
	/** Channels attached right now. */
	attached: number;
	created_at: string;
	/** Last input or output (ISO 8601). */
	last_activity_at: string;
	exit_code?: number | null;
	signal?: string | null;
}

export interface PtyCreateParams {
	sandbox_id: string;
	session_id: string;
	cols: number;
	rows: number;
	/** A path or a command line split on spaces ('zsh', '/bin/bash --norc'); default `/bin/bash -l`, else `/bin/sh`. */
	shell?: string;
	/** Working directory inside the sandbox (default /workspace). */
	cwd?: string;
	env?: Record<string, string>;
}

export interface PtyAttachParams {
	sandbox_id: string;
	session_id: string;
	/** Resize the terminal on attach. */
	cols?: number;
	rows?: number;
	/** Create the session when it does not exist (default true; the control plane passes false). */
	create?: boolean;
	shell?: string;
	cwd?: string;
	env?: Record<string, string>;
}

export type PtyControl =
	| { type: 'attached'; session: PtySessionInfo; replay_bytes: number }
	| { type: 'exit'; exit_code: number | null; signal: string | null };

export type PtyEndReason = 'exited' | 'killed' | 'idle' | 'sandbox_gone';

// ------------------------------------------------------------------------------------------
// Files (agent/files.ts)
//
// Every operation runs inside the sandbox (its mount namespace and root, as uid 1000), so paths
// and symlinks resolve in the sandbox, never on the host. Paths must be absolute and normalized
// (the control plane does that, see src/lib/server/files/paths.ts). The agent resolves symlinks
// inside the sandbox and checks the resolved path against `policy`: reads, writes, mkdir and
// chmod follow the last component; delete, move and stat resolve the parent and keep the last
// component (a symlink itself can be moved or deleted). Error codes: NOT_FOUND, FORBIDDEN_PATH
// (EACCES/EPERM/EROFS, or outside the policy), ALREADY_EXISTS, NOT_EMPTY, IS_A_DIRECTORY,
// NOT_A_DIRECTORY, NO_SPACE, FILE_TOO_LARGE, INVALID_PARAMS.

export interface FileRootPolicy {
	/** Resolved paths must be at or under one of these… */
	allow: string[];
	/** …and not at or under any of these. */
	deny: string[];
}
export interface FilePolicy {
	read: FileRootPolicy;
	write: FileRootPolicy;
}
/** Hangar's path policy; the agent applies it when a request carries none. */
export const DEFAULT_FILE_POLICY: FilePolicy = {
	read: { allow: ['/'], deny: ['/proc', '/sys', '/dev'] },
	write: { allow: ['/workspace', '/home/user', '/tmp'], deny: [] }
};

export interface FileInfo {
	name: string;
	/** Absolute path as requested (not symlink-resolved). */
	path: string;
	/** 'dir' when it is a directory or a symlink to one. */
	type: 'file' | 'dir';
	/** Bytes (of the link itself for a symlink). */
	size: number;
	is_dir: boolean;
	is_symlink: boolean;
	symlink_target?: string;
	/** st_mode: file type and permission bits (0o100644 = 33188). */
	mode: number;
	/** Permission bits as octal text, e.g. "0644". */
	permissions: string;
	/** ISO 8601 */
	modified_at: string;
}
export interface FileTreeNode extends FileInfo {
	/** Directories within the depth limit. */
	children?: FileTreeNode[];
}

export interface FilesBase {
	sandbox_id: string;
	policy?: FilePolicy;
}
export interface FilesPathParams extends FilesBase {
	path: string;
}
export interface FileWriteParams extends FilesPathParams {
	/** Permission bits for the file (default: keep an existing file's, else 0644). */
	mode?: number;
	/** Abort with FILE_TOO_LARGE past this many bytes. */
	max_bytes?: number;
}
export interface FileTarParams extends FilesBase {
	/** One path: members are named from its basename; several: relative to `/`. */
	paths: string[];
}
export interface FileWatchParams extends FilesPathParams {
	/** Whole subtree (default true) or direct children only. */
	recursive?: boolean;
	/** Polling period (default 200 ms, 50–5000). */
	interval_ms?: number;
}
export interface FileReadHeader {
	size: number;
}
export type FileWriteResult = { ok: true; path: string; size_bytes: number } | { ok: false; error: WireError };
export type FileWatchEvent =
	| { type: 'created' | 'modified' | 'deleted'; path: string; is_dir: boolean; size_bytes?: number }
	| { type: 'ready' };
export interface FileWriteManyResult {
	written: { path: string; size_bytes: number }[];
	failed: { path: string; code: string; error: string }[];
}

// ------------------------------------------------------------------------------------------
// Snapshots (agent/snapshots.ts)
//
// A snapshot is the sandbox's writable layer (its overlay upper dir), captured while the sandbox's
// cgroup is frozen for the copy, stored on the host that took it (content-addressed files,
// deduplicated across snapshots). Processes and memory are not captured (kind 'filesystem').
// `sandbox.create {from_snapshot}` seeds a new sandbox from it.

export interface SnapshotCreateParams {
	/** Chosen by the control plane (its snapshot row id). Creating an existing id returns it. */
	id: string;
	sandbox_id: string;
}
export interface SnapshotInfo {
	id: string;
	sandbox_id: string;
	kind: 'filesystem';
	template: string;
	/** Content address of the template's lower layer when it was taken. */
	template_hash: string;
	created_at: string;
	/** Sum of the regular files' sizes in the writable layer. */
	size_bytes: number;
	/** Bytes this snapshot added to the store (files no earlier snapshot had). */
	stored_bytes: number;
	files: number;
	/** sha256 over paths, metadata and file hashes: equal for identical layers. */
	content_hash: string;
	/** How long the sandbox's processes were frozen for the copy. */
	freeze_ms: number;
	duration_ms: number;
}

// ------------------------------------------------------------------------------------------
// Methods the control plane calls on the agent

type Empty = Record<string, never>;

export interface Methods {
	'sandbox.create': { params: SandboxCreateParams; result: SandboxCreateResult };
	'sandbox.destroy': { params: { id: string }; result: { destroyed: boolean } };
	'sandbox.pause': { params: { id: string }; result: Empty };
	'sandbox.resume': { params: { id: string }; result: Empty };
	'sandbox.list': { params: Empty; result: { sandboxes: SandboxInfo[] } };
	'sandbox.get': { params: { id: string }; result: SandboxInfo };
	'sandbox.stats': { params: { id: string }; result: SandboxStats };
	'exec.run': { params: ExecRunParams; result: ExecRunResult; progress: ExecProgress };
	'exec.kill': { params: { exec_id: string; signal?: ProcessSignal }; result: { killed: boolean } };
	'process.start': { params: ProcessStartParams; result: ProcessInfo };
	'process.list': { params: { sandbox_id: string }; result: { processes: ProcessInfo[] } };
	'process.get': { params: ProcessRef; result: ProcessInfo };
	'process.signal': { params: ProcessSignalParams; result: Empty };
	'process.stop': { params: ProcessStopParams; result: ProcessInfo };
	'process.stdin': { params: ProcessStdinParams; result: Empty };
	'process.logs': { params: ProcessLogsParams; result: ProcessLogsResult };
	'template.list': { params: Empty; result: { templates: TemplateInfo[] } };
	'template.ensure': { params: { id: string; wait?: boolean }; result: TemplateEnsureResult; progress: TemplateProgressEvent };
	'pty.create': { params: PtyCreateParams; result: PtySessionInfo };
	'pty.resize': { params: { sandbox_id: string; session_id: string; cols: number; rows: number }; result: PtySessionInfo };
	'pty.kill': { params: { sandbox_id: string; session_id: string }; result: { killed: boolean } };
	'pty.list': { params: { sandbox_id: string }; result: { sessions: PtySessionInfo[] } };
	'files.list': { params: FilesPathParams & { limit?: number }; result: { path: string; entries: FileInfo[]; truncated: boolean } };
	'files.stat': { params: FilesPathParams; result: FileInfo };
	'files.tree': { params: FilesPathParams & { depth?: number; limit?: number }; result: { tree: FileTreeNode; count: number; truncated: boolean } };
	'files.mkdir': { params: FilesPathParams & { parents?: boolean; mode?: number }; result: { path: string; created: boolean } };
	'files.move': { params: FilesBase & { from: string; to: string; overwrite?: boolean }; result: { from: string; to: string } };
	'files.copy': { params: FilesBase & { from: string; to: string; overwrite?: boolean; recursive?: boolean }; result: { from: string; to: string } };
	'files.chmod': { params: FilesPathParams & { mode: number }; result: FileInfo };
	'files.delete': { params: FilesPathParams & { recursive?: boolean }; result: { path: string; deleted: boolean } };
	/** All or nothing: temps beside each target, renamed into place only when every file is staged. */
	'files.write_many': { params: FilesBase & { files: { path: string; content_b64: string }[] }; result: FileWriteManyResult };
	'desktop.start': { params: DesktopStartParams; result: DesktopInfo };
	'desktop.stop': { params: { sandbox_id: string }; result: { stopped: boolean } };
	'desktop.status': { params: { sandbox_id: string }; result: DesktopInfo };
	'desktop.action': { params: { sandbox_id: string; action: DesktopAction }; result: DesktopActionResult };
	'snapshot.create': { params: SnapshotCreateParams; result: SnapshotInfo };
	'snapshot.get': { params: { id: string }; result: SnapshotInfo };
	'snapshot.list': { params: Empty; result: { snapshots: SnapshotInfo[]; stored_bytes: number } };
	'snapshot.delete': { params: { id: string }; result: { deleted: boolean } };
	'channel.open': { params: ChannelOpenParams; result: Empty };
	'agent.ping': { params: Empty; result: { time: number } };
}
export type MethodName = keyof Methods;
export type ParamsOf<M extends MethodName> = Methods[M]['params'];
export type ResultOf<M extends MethodName> = Methods[M]['result'];
export type ProgressOf<M extends MethodName> = Methods[M] extends { progress: infer P } ? P : never;

/** Methods the agent may call on the control plane. */
export interface ControlMethods {
	'control.ping': { params: Empty; result: { time: number } };
}

/** Generic shape of a method map, used by the Peer. */
export type MethodMap = Record<string, { params: unknown; result: unknown; progress?: unknown }>;

// ------------------------------------------------------------------------------------------
// Events (agent → control plane)

export interface Events {
	/** A sandbox died without being destroyed (crash, OOM of its init, killed from outside). */
	'sandbox.exited': { sandbox_id: string; reason: string; exit_code?: number | null; signal?: string | null };
	'process.exited': { sandbox_id: string; pid: number; name: string; exit_code: number | null; signal?: string | null };
	'template.progress': TemplateProgressEvent;
	'template.ready': { id: string; hash: string };
	'template.failed': { id: string; hash: string; error: string };
	/** A PTY session ended (its shell exited, pty.kill, idle timeout, or the sandbox went away). */
	'pty.exited': { sandbox_id: string; session_id: string; exit_code: number | null; signal?: string | null; reason: PtyEndReason };
}
export type EventName = keyof Events;

// ------------------------------------------------------------------------------------------
// Messages (text frames)

export type Message =
	| ({ t: 'hello' } & Hello)
	| ({ t: 'welcome' } & Welcome)
	| { t: 'reject'; code: ErrorCode; message: string }
	| { t: 'heartbeat'; usage: Usage }
	| { t: 'req'; id: number; method: string; params: unknown; timeout_ms?: number }
	| { t: 'res'; id: number; ok: true; result: unknown }
	| { t: 'res'; id: number; ok: false; error: WireError }
	| { t: 'progress'; id: number; data: unknown }
	| { t: 'cancel'; id: number }
	| { t: 'event'; name: string; data: unknown }
	| { t: 'ch.eof'; ch: number }
	| { t: 'ch.close'; ch: number; error?: WireError }
	| { t: 'ch.ack'; ch: number; bytes: number };

export function parseMessage(text: string): Message | null {
	try {
		const m = JSON.parse(text) as unknown;
		if (!m || typeof m !== 'object' || typeof (m as { t?: unknown }).t !== 'string') return null;
		return m as Message;
	} catch {
		return null;
	}
}

/** Close codes used on the agent WebSocket. */
export const CloseCodes = {
	normal: 1000,
	protocolMismatch: 4000,
	unauthorized: 4001,
	replaced: 4002,
	helloTimeout: 4003,
	badMessage: 4004,
	shutdown: 4005
} as const;
