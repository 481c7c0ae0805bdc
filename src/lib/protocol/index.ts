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
	'CHANNEL_KIND_UNSUPPORTED',
	'CAPACITY',
	'CANCELLED',
	'TIMEOUT',
	'PROTOCOL_MISMATCH',
	'INTERNAL'
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
 * `{stream, data}` for a background process, then EOF when it exits) and 'echo' (diagnostics:
 * echoes bytes back). Reserved for the next pieces: 'pty', 'tcp', 'file-read', 'file-write'.
 */
export interface ChannelKinds {
	'process-logs': { sandbox_id: string; pid: number; /** replay the last N lines first */ tail?: number };
	echo: Record<string, never>;
	pty: { sandbox_id: string; command?: string[]; cols: number; rows: number; cwd?: string; env?: Record<string, string> };
	tcp: { sandbox_id: string; port: number; host?: string };
	'file-read': { sandbox_id: string; path: string };
	'file-write': { sandbox_id: string; path: string; mode?: number };
}
export type ChannelKind = keyof ChannelKinds;

export interface ChannelOpenParams<K extends ChannelKind = ChannelKind> {
	/** Chosen by the opener (the control plane). */
	channel: number;
	kind: K;
	params: ChannelKinds[K];
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
