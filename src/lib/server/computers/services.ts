/**
 * Computer services: supervised long-running processes on a computer (a web server, a worker).
 *
 * The definition lives in `computer_service`; a run is an agent process (`process.start`) whose
 * output is appended to /tmp/.hangar-services/<name>.log inside the computer. Supervision is in
 * the control plane:
 * - `process.exited` (hosts/connections → onServiceProcessExited) records the exit and, per the
 *   restart policy (always | on-failure | never), schedules a restart after an exponential backoff
 *   (backoff_ms · 2^restarts, ≤ 60 s) until max_restarts is reached (then status `failed`).
 * - a sweep (every 5 s) starts restarts that are due (also those whose timer died with a replica),
 *   and every 30 s checks running services against the agent's process list, so an exit missed
 *   while the control plane was down, or a computer that came back in a new sandbox, is noticed.
 * Conditional updates (on pid / status) keep two replicas from acting on the same run twice.
 */
import { and, eq, inArray, isNull, lte } from 'drizzle-orm';
import { z } from 'zod';
import { db, isUniqueViolation } from '../db';
import { computer, computerService, sandbox, type Computer, type ComputerService, type Sandbox } from '../db/schema';
import { emit } from '../events/service';
import { agentCall } from '../hosts/connections';
import { AgentError } from '../hosts/hub';
import { conflict, notFound } from '../http/errors';
import { onStart } from '../startup';
import { agentFailure } from '../sandboxes/service';
import { requireRunning, statusOf } from './service';

export const SERVICE_LOG_DIR = '/tmp/.hangar-services';
const MAX_BACKOFF_MS = 60_000;

export const serviceCreateSchema = z
	.object({
		name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'name must match [a-z][a-z0-9-]{0,62}'),
		command: z.string().min(1).max(100_000),
		env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(32_768)).optional(),
		cwd: z.string().min(1).max(4096).optional(),
		restart: z.enum(['always', 'on-failure', 'no', 'never']).optional(),
		restart_policy: z.enum(['always', 'on-failure', 'no', 'never']).optional(),
		max_restarts: z.number().int().min(0).max(10_000).optional(),
		backoff_ms: z.number().int().min(100).max(MAX_BACKOFF_MS).optional()
	})
	.transform((v) => ({ ...v, restart: v.restart ?? v.restart_policy ?? 'on-failure' }));
export type ServiceCreateInput = z.infer<typeof serviceCreateSchema>;

export const serviceLogsQuery = z.object({ tail: z.coerce.number().int().min(1).max(10_000).default(500) }).passthrough();

export function toServiceDto(s: ComputerService) {
	const iso = (d: Date | null) => d?.toISOString() ?? null;
	return {
		id: s.id,
		computer_id: s.computerId,
		tenant_id: s.organizationId,
		organization_id: s.organizationId,
		name: s.name,
		command: s.command,
		env: s.env,
		cwd: s.cwd,
		restart: s.restartPolicy,
		restart_policy: s.restartPolicy,
		max_restarts: s.maxRestarts,
		backoff_ms: s.backoffMs,
		status: s.status,
		desired_state: s.desired,
		pid: s.pid,
		sandbox_id: s.sandboxId,
		restart_count: s.restartCount,
		last_exit_code: s.lastExitCode,
		last_signal: s.lastSignal,
		last_error: s.lastError,
		next_restart_at: iso(s.nextRestartAt),
		started_at: iso(s.startedAt),
		exited_at: iso(s.exitedAt),
		log_path: logPath(s.name),
		created_at: s.createdAt.toISOString(),
		updated_at: s.updatedAt.toISOString()
	};
}

const logPath = (name: string) => `${SERVICE_LOG_DIR}/${name}.log`;

async function patch(id: string, p: Partial<typeof computerService.$inferInsert>, where?: ReturnType<typeof eq>): Promise<ComputerService | undefined> {
	const [row] = await db
		.update(computerService)
		.set({ ...p, updatedAt: new Date() })
		.where(where ? and(eq(computerService.id, id), where) : eq(computerService.id, id))
		.returning();
	return row;
}

async function serviceEvent(c: Pick<Computer, 'id' | 'organizationId' | 'workspaceId'>, s: ComputerService, type: string, data: Record<string, unknown> = {}) {
	await emit({
		organizationId: c.organizationId,
		workspaceId: c.workspaceId,
		type,
		resourceType: 'computer',
		resourceId: c.id,
		data: { computer_id: c.id, service_id: s.id, name: s.name, ...data }
	}).catch((e) => console.error('service event failed', e));
}

// ------------------------------------------------------------------------------------------
// Reads

export async function listServices(c: Computer): Promise<ComputerService[]> {
	return db.select().from(computerService).where(eq(computerService.computerId, c.id)).orderBy(computerService.createdAt, computerService.name);
}

/** By name (the documented key) or by id. */
export async function getService(c: Computer, ref: string): Promise<ComputerService> {
	const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
	const [row] = await db
		.select()
		.from(computerService)
		.where(and(eq(computerService.computerId, c.id), isUuid ? eq(computerService.id, ref) : eq(computerService.name, ref)));
	if (!row) throw notFound('service');
	return row;
}

// ------------------------------------------------------------------------------------------
// Runs

/** Starts a run of the service in the sandbox; records its pid. */
async function launch(c: Computer, sb: Sandbox, s: ComputerService): Promise<ComputerService> {
	const run = s.restartCount + 1;
	const script =
		`mkdir -p ${SERVICE_LOG_DIR} 2>/dev/null; ` +
		`printf '[hangar] service %s: run %s started at %s\\n' "$HANGAR_SERVICE_NAME" "$HANGAR_SERVICE_RUN" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$HANGAR_SERVICE_LOG"; ` +
		`exec bash -c "$HANGAR_SERVICE_COMMAND" >> "$HANGAR_SERVICE_LOG" 2>&1 < /dev/null`;
	let info;
	try {
		info = await agentCall(sb.hostId!, 'process.start', {
			sandbox_id: sb.id,
			command: script,
			shell: 'bash',
			cwd: s.cwd,
			name: `service:${s.name}`,
			env: {
				DISPLAY: ':1',
				...s.env,
				HANGAR_SERVICE_NAME: s.name,
				HANGAR_SERVICE_RUN: String(run),
				HANGAR_SERVICE_LOG: logPath(s.name),
				HANGAR_SERVICE_COMMAND: s.command
			}
		});
	} catch (e) {
		throw agentFailure(e);
	}
	const row = await patch(s.id, {
		status: 'running',
		sandboxId: sb.id,
		pid: info.pid,
		startedAt: new Date(),
		nextRestartAt: null,
		lastError: null
	});
	await serviceEvent(c, row!, 'computer.service.started', { pid: info.pid, run });
	return row!;
}

/** Stops the current run, if any (SIGTERM, then SIGKILL after the grace period). */
async function killRun(s: ComputerService): Promise<void> {
	if (!s.pid || !s.sandboxId) return;
	const [sb] = await db.select().from(sandbox).where(eq(sandbox.id, s.sandboxId));
	if (!sb || sb.state !== 'running' || !sb.hostId) return;
	try {
		await agentCall(sb.hostId, 'process.stop', { sandbox_id: sb.id, pid: s.pid, grace_ms: 3000 }, { timeoutMs: 20_000 });
	} catch (e) {
		if (e instanceof AgentError && (e.code === 'PROCESS_NOT_FOUND' || e.code === 'SANDBOX_NOT_FOUND')) return;
		throw agentFailure(e);
	}
}

export async function createService(c: Computer, input: ServiceCreateInput): Promise<ComputerService> {
	const { sb } = await requireRunning(c);
	const [existing] = await db
		.select({ id: computerService.id })
		.from(computerService)
		.where(and(eq(computerService.computerId, c.id), eq(computerService.name, input.name)));
	if (existing) throw conflict(`a service named ${input.name} already exists on this computer`);
	let row: ComputerService;
	try {
		[row] = await db
			.insert(computerService)
			.values({
				computerId: c.id,
				organizationId: c.organizationId,
				name: input.name,
				command: input.command,
				env: input.env ?? {},
				cwd: input.cwd ?? '/home/user',
				restartPolicy: input.restart,
				maxRestarts: input.max_restarts ?? 10,
				backoffMs: input.backoff_ms ?? 1000,
				status: 'starting'
			})
			.returning();
	} catch (e) {
		if (isUniqueViolation(e))
			throw conflict(`a service named ${input.name} already exists on this computer`);
		throw e;
	}
	await serviceEvent(c, row, 'computer.service.created', { command: row.command.slice(0, 1000), restart: row.restartPolicy });
	try {
		return await launch(c, sb, row);
	} catch (e) {
		const err = agentFailure(e);
		await patch(row.id, { status: 'failed', lastError: err.message });
		throw err;
	}
}

export async function startService(c: Computer, s: ComputerService): Promise<ComputerService> {
	const { sb } = await requireRunning(c);
	if (s.status === 'running' && s.pid && s.sandboxId === sb.id) {
		if (s.desired !== 'running') return (await patch(s.id, { desired: 'running' }))!;
		return s;
	}
	const row = await patch(s.id, { desired: 'running', status: 'starting', restartCount: 0, nextRestartAt: null, pid: null });
	try {
		return await launch(c, sb, row!);
	} catch (e) {
		const err = agentFailure(e);
		await patch(s.id, { status: 'failed', lastError: err.message });
		throw err;
	}
}

export async function stopService(c: Computer, s: ComputerService): Promise<ComputerService> {
	await patch(s.id, { desired: 'stopped' });
	await killRun(s);
	const row = await patch(s.id, { status: 'stopped', pid: null, nextRestartAt: null });
	await serviceEvent(c, row!, 'computer.service.stopped');
	return row!;
}

export async function restartService(c: Computer, s: ComputerService): Promise<ComputerService> {
	await requireRunning(c);
	await patch(s.id, { desired: 'stopped' });
	await killRun(s);
	const row = await patch(s.id, { status: 'stopped', pid: null, nextRestartAt: null });
	return startService(c, row!);
}

export async function deleteService(c: Computer, s: ComputerService): Promise<void> {
	await patch(s.id, { desired: 'stopped' });
	await killRun(s).catch((e) => console.error('service stop on delete failed', e));
	await db.delete(computerService).where(eq(computerService.id, s.id));
	await serviceEvent(c, s, 'computer.service.deleted');
}

/** The tail of the service's log (all runs, each starting with a `[hangar] … run N started` line). */
export async function serviceLogs(c: Computer, s: ComputerService, tail: number) {
	const { sb } = await requireRunning(c);
	let r;
	try {
		r = await agentCall(
			sb.hostId!,
			'exec.run',
			{ sandbox_id: sb.id, exec_id: crypto.randomUUID(), command: `tail -n ${tail} -- '${logPath(s.name)}' 2>/dev/null || true`, timeout_ms: 15_000, shell: 'bash' },
			{ timeoutMs: 30_000 }
		);
	} catch (e) {
		throw agentFailure(e);
	}
	const text = r.stdout;
	const lines = text.length ? text.replace(/\n$/, '').split('\n') : [];
	return { service_id: s.id, name: s.name, path: logPath(s.name), lines, output: text, truncated: lines.length >= tail };
}

/** Still in the state it was read in (timestamps are not compared: Postgres keeps microseconds). */
function unchanged(s: ComputerService) {
	return and(
		eq(computerService.status, s.status),
		s.pid === null ? isNull(computerService.pid) : eq(computerService.pid, s.pid),
		s.sandboxId === null ? isNull(computerService.sandboxId) : eq(computerService.sandboxId, s.sandboxId)
	) as ReturnType<typeof eq>;
}

/**
 * After the computer moved to a new sandbox (start after its sandbox was lost, clone, resize):
 * starts every service that should run there, as a fresh run (restart count reset).
 */
export async function relaunchServices(c: Computer, sb: Sandbox): Promise<void> {
	const rows = await db
		.select()
		.from(computerService)
		.where(and(eq(computerService.computerId, c.id), eq(computerService.desired, 'running')));
	for (const s of rows) {
		if (s.sandboxId === sb.id && s.pid && s.status === 'running') continue;
		const row = await patch(s.id, { status: 'starting', pid: null, sandboxId: sb.id, restartCount: 0, nextRestartAt: null }, unchanged(s));
		if (!row) continue;
		await launch(c, sb, row).catch(async (e) => void (await patch(s.id, { status: 'failed', lastError: agentFailure(e).message })));
	}
}

// ------------------------------------------------------------------------------------------
// Supervision

function backoffFor(s: ComputerService): number {
	return Math.min(MAX_BACKOFF_MS, s.backoffMs * 2 ** Math.min(s.restartCount, 16));
}

/** An exit of a service's run: record it, and schedule a restart if the policy says so. */
async function recordExit(s: ComputerService, exitCode: number | null, signal: string | null): Promise<void> {
	const failed = exitCode !== 0 || !!signal;
	const policy = s.restartPolicy === 'no' ? 'never' : s.restartPolicy;
	let status: string;
	let nextRestartAt: Date | null = null;
	let lastError: string | null = null;
	if (s.desired !== 'running') status = 'stopped';
	else if (policy === 'never' || (policy === 'on-failure' && !failed)) status = failed ? 'failed' : 'exited';
	else if (s.restartCount >= s.maxRestarts) {
		status = 'failed';
		lastError = `restart limit reached (${s.maxRestarts})`;
	} else {
		status = 'backoff';
		nextRestartAt = new Date(Date.now() + backoffFor(s));
	}
	// Claim the exit: only if the run is still the one recorded.
	const row = await patch(
		s.id,
		{ status, pid: null, exitedAt: new Date(), lastExitCode: exitCode, lastSignal: signal, nextRestartAt, ...(lastError ? { lastError } : {}) },
		and(eq(computerService.pid, s.pid!), eq(computerService.sandboxId, s.sandboxId!)) as ReturnType<typeof eq>
	);
	if (!row) return;
	const [c] = await db.select().from(computer).where(eq(computer.id, s.computerId));
	if (c) await serviceEvent(c, row, 'computer.service.exited', { exit_code: exitCode, signal, status, restart_count: row.restartCount });
	if (nextRestartAt) {
		const t = setTimeout(() => void restartDue(row.id).catch((e) => console.error('service restart failed', e)), nextRestartAt.getTime() - Date.now());
		t.unref();
	}
}

/** Called for every agent `process.exited` event. */
export async function onServiceProcessExited(d: { sandbox_id: string; pid: number; exit_code: number | null; signal?: string | null }): Promise<void> {
	const [s] = await db
		.select()
		.from(computerService)
		.where(and(eq(computerService.sandboxId, d.sandbox_id), eq(computerService.pid, d.pid)));
	if (!s) return;
	await recordExit(s, d.exit_code, d.signal ?? null);
}

/** Starts the next run of a service in backoff whose time has come. */
async function restartDue(id: string): Promise<void> {
	const [s] = await db.select().from(computerService).where(eq(computerService.id, id));
	if (!s || s.status !== 'backoff' || s.desired !== 'running') return;
	if (s.nextRestartAt && s.nextRestartAt.getTime() > Date.now() + 50) return;
	const [c] = await db.select().from(computer).where(eq(computer.id, s.computerId));
	if (!c) return;
	let sb: Sandbox;
	try {
		({ sb } = await requireRunning(c));
	} catch {
		return; // Stopped or gone: the sweep tries again when it is back.
	}
	const claimed = await patch(s.id, { status: 'starting', restartCount: s.restartCount + 1, nextRestartAt: null }, eq(computerService.status, 'backoff'));
	if (!claimed) return;
	try {
		await launch(c, sb, claimed);
	} catch (e) {
		const err = agentFailure(e);
		const failedRow = await patch(s.id, { lastError: err.message });
		// Counts as a failed run.
		if (failedRow) {
			const retry = failedRow.restartCount < failedRow.maxRestarts;
			await patch(s.id, retry ? { status: 'backoff', nextRestartAt: new Date(Date.now() + backoffFor(failedRow)) } : { status: 'failed' });
		}
	}
}

/** Runs due restarts; every `checkRuns` call also compares running services with the agent. */
export async function sweepServices(checkRuns: boolean): Promise<void> {
	const due = await db
		.select({ id: computerService.id })
		.from(computerService)
		.where(and(eq(computerService.status, 'backoff'), eq(computerService.desired, 'running'), lte(computerService.nextRestartAt, new Date())));
	for (const d of due) await restartDue(d.id).catch((e) => console.error('service restart failed', e));
	if (!checkRuns) return;
	const rows = await db
		.select({ s: computerService, c: computer, sb: sandbox })
		.from(computerService)
		.innerJoin(computer, eq(computer.id, computerService.computerId))
		.leftJoin(sandbox, eq(sandbox.id, computer.sandboxId))
		.where(and(eq(computerService.desired, 'running'), inArray(computerService.status, ['running', 'starting'])));
	const bySandbox = new Map<string, Map<number, { state: string; exit_code?: number; signal?: string }> | null>();
	for (const { s, c, sb } of rows) {
		if (statusOf(c, sb) !== 'active' || !sb || sb.state !== 'running' || !sb.hostId) continue;
		if (s.status === 'starting' && s.updatedAt.getTime() > Date.now() - 60_000) continue; // being launched
		if (s.sandboxId !== sb.id || !s.pid) {
			// The computer came back in a new sandbox (or a launch died half-way): start it there.
			const row = await patch(s.id, { status: 'starting', pid: null, sandboxId: sb.id }, unchanged(s));
			if (row) await launch(c, sb, row).catch(async (e) => void (await patch(s.id, { status: 'failed', lastError: agentFailure(e).message })));
			continue;
		}
		if (!bySandbox.has(sb.id)) {
			const list = await agentCall(sb.hostId, 'process.list', { sandbox_id: sb.id }).catch(() => null);
			bySandbox.set(sb.id, list ? new Map(list.processes.map((p) => [p.pid, p])) : null);
		}
		const procs = bySandbox.get(sb.id);
		if (!procs) continue;
		const p = procs.get(s.pid);
		if (!p) await recordExit(s, null, 'LOST');
		else if (p.state === 'exited') await recordExit(s, p.exit_code ?? null, p.signal ?? null);
	}
}

let sweeping = false;
let ticks = 0;
onStart(() => {
	const t = setInterval(() => {
		if (sweeping) return;
		sweeping = true;
		ticks++;
		sweepServices(ticks % 6 === 1)
			.catch((e) => console.error('service sweep failed', e))
			.finally(() => (sweeping = false));
	}, 5000);
	t.unref();
});
