import type { ProcessInfo, ProcessSignal } from '$lib/protocol';
import type { Sandbox } from '../db/schema';
import { emit } from '../events/service';
import { agentCall } from '../hosts/connections';
import { agentFailure, ensureRunning, requireLive } from './service';

export function toProcessDto(s: Sandbox, p: ProcessInfo) {
	return {
		pid: p.pid,
		sandbox_id: s.id,
		name: p.name,
		command: p.command,
		cwd: p.cwd,
		state: p.state,
		status: p.state,
		exit_code: p.exit_code ?? null,
		signal: p.signal ?? null,
		started_at: p.started_at,
		exited_at: p.exited_at ?? null
	};
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		throw agentFailure(err);
	}
}

export async function startProcess(s: Sandbox, input: { command: string; cwd?: string; env?: Record<string, string>; name?: string; shell?: 'sh' | 'bash' }) {
	s = await ensureRunning(s);
	const p = await call(() => agentCall(s.hostId!, 'process.start', { sandbox_id: s.id, ...input }));
	await emit({
		organizationId: s.organizationId,
		workspaceId: s.workspaceId,
		type: 'sandbox.process.started',
		resourceType: 'sandbox',
		resourceId: s.id,
		data: { sandbox_id: s.id, pid: p.pid, name: p.name, command: p.command.slice(0, 1000) }
	});
	return p;
}

export async function listProcesses(s: Sandbox) {
	// Reads neither resume a paused sandbox nor count as activity.
	requireLive(s);
	return (await call(() => agentCall(s.hostId!, 'process.list', { sandbox_id: s.id }))).processes;
}

export async function getProcess(s: Sandbox, pid: number) {
	// Reads neither resume a paused sandbox nor count as activity.
	requireLive(s);
	return call(() => agentCall(s.hostId!, 'process.get', { sandbox_id: s.id, pid }));
}

export async function signalProcess(s: Sandbox, pid: number, signal: ProcessSignal) {
	s = await ensureRunning(s);
	await call(() => agentCall(s.hostId!, 'process.signal', { sandbox_id: s.id, pid, signal }));
	return call(() => agentCall(s.hostId!, 'process.get', { sandbox_id: s.id, pid }));
}

/** SIGTERM, then SIGKILL after the grace period. */
export async function stopProcess(s: Sandbox, pid: number, graceMs?: number) {
	s = await ensureRunning(s);
	return call(() => agentCall(s.hostId!, 'process.stop', { sandbox_id: s.id, pid, grace_ms: graceMs }, { timeoutMs: (graceMs ?? 5000) + 15_000 }));
}

export async function writeStdin(s: Sandbox, pid: number, input: { data?: string; data_b64?: string; eof?: boolean }) {
	s = await ensureRunning(s);
	await call(() => agentCall(s.hostId!, 'process.stdin', { sandbox_id: s.id, pid, ...input }));
}

export async function processLogs(s: Sandbox, pid: number, tail?: number) {
	// Reads neither resume a paused sandbox nor count as activity.
	requireLive(s);
	return call(() => agentCall(s.hostId!, 'process.logs', { sandbox_id: s.id, pid, tail }));
}
