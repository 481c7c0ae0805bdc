import { and, arrayContains, count, desc, eq, ne, or, sql, type SQL } from 'drizzle-orm';
import { SANDBOX_SIZES, type ExecProgress, type ExecRunResult } from '$lib/protocol';
import { db, isUniqueViolation } from '../db';
import { sandbox, type Sandbox } from '../db/schema';
import type { Principal } from '../auth/principal';
import { audit, auditActorOf } from '../audit/service';
import { emit } from '../events/service';
import { ApiError, conflict, notFound, validationError } from '../http/errors';
import type { Page } from '../http/pagination';
import { seal, unseal } from '../secrets';
import { env } from '../env';
import { resolveOwnership } from '../workspaces/service';
import { agentCall, onTemplateEvent } from '../hosts/connections';
import { AgentError, CallTimeoutError, HostUnavailableError } from '../hosts/hub';
import { knownRegions, placeSandbox } from '../hosts/scheduler';
import { mustTransition, transition } from './lifecycle';
import { SIZES, DEFAULT_TIMEOUT_SEC, type SandboxCreateInput, type SizeName, type ExecInput, commandOf } from './schemas';
import { defaultTemplateId, findTemplate } from './templates';
import { admitSandbox, assertCredits } from '../billing/admission';
import type { z } from 'zod';
import type { sandboxListQuery, sandboxUpdateSchema } from './schemas';

export interface Actor {
	principal: Principal;
	requestId: string;
	ip?: string;
}


// ------------------------------------------------------------------------------------------
// Representation

export function timeoutRemainingMs(s: Sandbox, now = Date.now()): number | null {
	if (!s.expiresAt || s.alwaysOn || s.state === 'destroyed' || s.state === 'error') return null;
	return Math.max(0, s.expiresAt.getTime() - now);
}

export function runtimeSec(s: Sandbox, now = Date.now()): number {
	const live = s.runningSince ? Math.max(0, Math.floor((now - s.runningSince.getTime()) / 1000)) : 0;
	return s.runtimeSecBefore + live;
}

/** SandboxData as the SDK reads it. */
export function toSandboxDto(s: Sandbox) {
	const iso = (d: Date | null) => d?.toISOString() ?? null;
	const size = SIZES[s.size as SizeName] ?? SIZES.small;
	return {
		id: s.id,
		state: s.state,
		ready: s.state === 'running',
		name: s.name,
		slug: s.slug,
		template_id: s.templateId,
		image_id: s.templateId,
		size: s.size,
		cpu_count: s.cpuCount,
		memory_mb: s.memoryMb,
		disk_mb: s.diskMb,
		disk_size_mb: s.diskMb,
		region: s.region,
		persistent: s.persistent,
		always_on: s.alwaysOn,
		network: s.network,
		timeout_sec: s.timeoutSec,
		timeout_remaining_ms: timeoutRemainingMs(s),
		idle_timeout_sec: s.idleTimeoutSec,
		expires_at: s.alwaysOn ? null : iso(s.expiresAt),
		boot_path: s.bootPath,
		boot_ms: s.bootMs,
		ready_at: iso(s.readyAt),
		started_at: iso(s.startedAt),
		paused_at: iso(s.pausedAt),
		destroyed_at: iso(s.destroyedAt),
		last_activity_at: iso(s.lastActivityAt),
		total_runtime_sec: runtimeSec(s),
		preview_url: null,
		url_info: null,
		metadata: { ...s.metadata, ...(s.lastError ? { last_error: s.lastError } : {}) },
		last_error: s.lastError,
		tags: s.tags,
		host_id: s.hostId,
		workspace_id: s.workspaceId,
		project_id: s.projectId,
		external_workspace_id: s.externalWorkspaceId,
		external_project_id: s.externalProjectId,
		external_user_id: s.externalUserId,
		resource_contract: { id: `sandbox-${s.size}`, version: 1, product: 'sandbox', size: s.size, vcpus: size.cpu_count, memory_mb: size.memory_mb, disk_size_mb: size.disk_mb },
		inserted_at: s.createdAt.toISOString(),
		created_at: s.createdAt.toISOString(),
		updated_at: s.updatedAt.toISOString()
	};
}

// ------------------------------------------------------------------------------------------
// Reads

export async function getSandbox(orgId: string, id: string): Promise<Sandbox> {
	const [row] = await db.select().from(sandbox).where(and(eq(sandbox.organizationId, orgId), eq(sandbox.id, id)));
	if (!row) throw notFound('sandbox');
	return row;
}

/** By name or slug; the newest live one wins. */
export async function getSandboxByName(orgId: string, name: string): Promise<Sandbox> {
	const [row] = await db
		.select()
		.from(sandbox)
		.where(and(eq(sandbox.organizationId, orgId), or(eq(sandbox.name, name), eq(sandbox.slug, name)), ne(sandbox.state, 'destroyed')))
		.orderBy(desc(sandbox.createdAt))
		.limit(1);
	if (!row) throw notFound('sandbox');
	return row;
}

export async function listSandboxes(orgId: string, page: Page, q: z.infer<typeof sandboxListQuery>) {
	const where: SQL[] = [eq(sandbox.organizationId, orgId)];
	if (q.state) where.push(eq(sandbox.state, q.state));
	else if (q.include_destroyed !== 'true') where.push(ne(sandbox.state, 'destroyed'));
	if (q.tags) {
		const tags = q.tags.split(',').map((t) => t.trim()).filter(Boolean);
		if (tags.length) where.push(arrayContains(sandbox.tags, tags));
	}
	if (q.name) where.push(eq(sandbox.name, q.name));
	if (q.template_id) where.push(eq(sandbox.templateId, q.template_id));
	if (q.workspace_id) where.push(eq(sandbox.workspaceId, q.workspace_id));
	if (q.project_id) where.push(eq(sandbox.projectId, q.project_id));
	if (q.external_workspace_id) where.push(eq(sandbox.externalWorkspaceId, q.external_workspace_id));
	if (q.external_project_id) where.push(eq(sandbox.externalProjectId, q.external_project_id));
	if (q.external_user_id) where.push(eq(sandbox.externalUserId, q.external_user_id));
	const [rows, [{ n }]] = await Promise.all([
		db.select().from(sandbox).where(and(...where)).orderBy(desc(sandbox.createdAt), desc(sandbox.id)).limit(page.pageSize).offset(page.offset),
		db.select({ n: count() }).from(sandbox).where(and(...where))
	]);
	return { rows, total: n };
}

// ------------------------------------------------------------------------------------------
// Create

function sandboxEnv(s: Sandbox): Record<string, string> {
	return s.envSealed ? (JSON.parse(unseal(s.envSealed)) as Record<string, string>) : {};
}

/** Maps agent failures to API errors. */
export function agentFailure(err: unknown): ApiError {
	if (err instanceof ApiError) return err;
	if (err instanceof HostUnavailableError) return new ApiError(502, 'AGENT_UNAVAILABLE', 'the sandbox host is not connected; retry shortly');
	if (err instanceof AgentError) {
		if (err.code === 'TIMEOUT') return new ApiError(504, 'TIMEOUT', err.message);
		if (err.code === 'SANDBOX_NOT_FOUND') return new ApiError(409, 'SANDBOX_NOT_RUNNING', 'the sandbox is no longer running on its host');
		if (err.code === 'PROCESS_NOT_FOUND') return notFound('process');
		if (err.code === 'INVALID_PARAMS') return validationError(err.message, { _: [err.message] });
		return new ApiError(502, 'AGENT_UNAVAILABLE', `host agent error: ${err.message}`, { agent_code: err.code });
	}
	if (err instanceof CallTimeoutError) return new ApiError(504, 'TIMEOUT', 'the host agent did not answer in time');
	console.error('unexpected failure', err);
	return new ApiError(500, 'INTERNAL_ERROR', 'internal error; retry with backoff');
}

/**
 * Creates a sandbox: resolves ownership, writes the row (provisioning), places it on a host, boots
 * it and marks it running. When the template is still being built on the host, answers at once
 * with `provisioning` and finishes in the background (progress arrives as events).
 */
export interface CreateOptions {
	/** Place on this host only (restores and forks: the snapshot lives there). */
	hostId?: string;
	/** Seed the writable layer from this snapshot (its id on the agent). */
	fromSnapshot?: string;
	/** Extra data on the sandbox.created event (e.g. the snapshot it came from). */
	eventData?: Record<string, unknown>;
}

export async function createSandbox(actor: Actor, input: SandboxCreateInput, opts: CreateOptions = {}): Promise<Sandbox> {
	const orgId = actor.principal.organizationId;
	const templateId = input.template_id ?? input.template ?? input.image ?? defaultTemplateId();
	const template = findTemplate(templateId);
	if (!template) throw validationError(`unknown template ${templateId}`, { template_id: [`unknown template; see GET /sandbox-templates`] });

	let sizeName: SizeName = input.size ?? 'xs';
	if (!input.size && (input.cpu_count || input.memory_mb || input.disk_size_mb)) {
		sizeName = (Object.entries(SIZES).find(
			([, s]) =>
				(input.cpu_count === undefined || s.cpu_count === input.cpu_count) &&
				(input.memory_mb === undefined || s.memory_mb === input.memory_mb) &&
				(input.disk_size_mb === undefined || s.disk_mb === input.disk_size_mb)
		)?.[0] ?? 'xs') as SizeName;
	}
	const size = SIZES[sizeName];
	if (input.region) {
		const regions = await knownRegions(orgId);
		if (!regions.includes(input.region)) {
			throw new ApiError(400, 'invalid_region', `unknown region ${input.region}`, { known_regions: regions });
		}
	}
	// Billing admission: 402 without credits, 409/402 QUOTA_EXCEEDED over the external user's quota.
	await admitSandbox(orgId, { externalUserId: input.external_user_id ?? null, diskMb: input.disk_mb ?? size.disk_mb });
	const ownership = await resolveOwnership(orgId, input);
	const placement = await placeSandbox({ organizationId: orgId, region: input.region, labels: input.labels, memoryMb: size.memory_mb, hostId: opts.hostId });
	const timeoutSec = input.timeout_sec ?? DEFAULT_TIMEOUT_SEC;
	const envVars = input.env ?? {};

	let row: Sandbox;
	try {
		[row] = await db
			.insert(sandbox)
			.values({
				organizationId: orgId,
				workspaceId: ownership.workspace.id,
				projectId: ownership.project.id,
				hostId: placement.id,
				createdBy: actor.principal.userId,
				name: input.name ?? null,
				slug: input.slug ?? null,
				templateId,
				size: sizeName,
				cpuCount: size.cpu_count,
				memoryMb: size.memory_mb,
				diskMb: input.disk_mb ?? size.disk_mb,
				region: placement.region,
				persistent: input.persistent ?? false,
				alwaysOn: input.always_on ?? false,
				network: input.network ?? true,
				timeoutSec,
				idleTimeoutSec: input.idle_timeout_sec ?? null,
				envSealed: Object.keys(envVars).length ? seal(JSON.stringify(envVars)) : null,
				metadata: input.metadata ?? {},
				tags: input.tags ?? [],
				externalWorkspaceId: ownership.workspace.externalWorkspaceId ?? input.external_workspace_id ?? null,
				externalProjectId: ownership.project.externalProjectId ?? input.external_project_id ?? null,
				externalUserId: ownership.externalUserId
			})
			.returning();
	} catch (e) {
		if (isUniqueViolation(e)) throw conflict('a live sandbox with this slug already exists in the workspace', { field: 'slug' });
		throw e;
	}
	await emit({
		organizationId: orgId,
		workspaceId: row.workspaceId,
		type: 'sandbox.created',
		resourceType: 'sandbox',
		resourceId: row.id,
		data: { sandbox_id: row.id, template_id: templateId, size: sizeName, region: row.region, host_id: row.hostId, ...(opts.eventData ?? {}) }
	});
	await audit(auditActorOf(actor), { action: 'sandbox.created', resourceType: 'sandbox', resourceId: row.id, workspaceId: row.workspaceId, metadata: { template_id: templateId, size: sizeName } });

	const started = Date.now();
	try {
		return await boot(row, envVars, opts.fromSnapshot);
	} catch (err) {
		if (err instanceof AgentError && err.code === 'TEMPLATE_NOT_READY') {
			bootWhenTemplateReady(row, envVars, started, opts.fromSnapshot).catch((e) => console.error('background boot failed', e));
			return row;
		}
		const apiErr = agentFailure(err);
		await transition(row.id, 'error', { from: ['provisioning'], patch: { lastError: apiErr.message }, eventData: { reason: apiErr.message } });
		throw apiErr;
	}
}

async function boot(row: Sandbox, envVars: Record<string, string>, fromSnapshot?: string): Promise<Sandbox> {
	const result = await agentCall(
		row.hostId!,
		'sandbox.create',
		{
			id: row.id,
			template: row.templateId,
			size: { cpus: row.cpuCount, memory_mb: row.memoryMb, pids_max: SANDBOX_SIZES[row.size as SizeName]?.pids_max ?? 512 },
			env: envVars,
			network: row.network,
			hostname: row.slug ?? 'sandbox',
			...(fromSnapshot ? { from_snapshot: fromSnapshot } : {})
		},
		{ timeoutMs: env.HANGAR_SANDBOX_CREATE_TIMEOUT_MS }
	);
	const now = new Date();
	const running = await transition(row.id, 'running', {
		from: ['provisioning'],
		patch: {
			bootMs: Math.round(result.boot_ms),
			bootPath: result.boot_path,
			startedAt: now,
			readyAt: now,
			lastActivityAt: now,
			expiresAt: new Date(now.getTime() + row.timeoutSec * 1000)
		},
		eventData: { boot_ms: Math.round(result.boot_ms), boot_path: result.boot_path }
	});
	if (!running) {
		// Destroyed (or failed) while booting: do not leave it running on the host.
		await agentCall(row.hostId!, 'sandbox.destroy', { id: row.id }).catch(() => {});
		throw new ApiError(409, 'SANDBOX_NOT_RUNNING', 'the sandbox was destroyed while it was starting');
	}
	return running;
}

/** First use of a template on a host: build it (progress as events), then boot. */
async function bootWhenTemplateReady(row: Sandbox, envVars: Record<string, string>, started: number, fromSnapshot?: string) {
	let lastEmit = 0;
	const stop = onTemplateEvent((hostId, name, data) => {
		if (hostId !== row.hostId || (data as { id?: string }).id !== row.templateId) return;
		const now = Date.now();
		if (name === 'template.progress' && now - lastEmit < 500) return;
		lastEmit = now;
		emit({
			organizationId: row.organizationId,
			workspaceId: row.workspaceId,
			type: `sandbox.template.${name.split('.')[1]}`,
			resourceType: 'sandbox',
			resourceId: row.id,
			data: { sandbox_id: row.id, template_id: row.templateId, ...(data as object) }
		}).catch(() => {});
	});
	try {
		await agentCall(row.hostId!, 'template.ensure', { id: row.templateId, wait: true }, { timeoutMs: 30 * 60_000 });
		await boot(row, envVars, fromSnapshot);
	} catch (err) {
		const apiErr = agentFailure(err);
		await transition(row.id, 'error', { from: ['provisioning'], patch: { lastError: apiErr.message }, eventData: { reason: apiErr.message, after_ms: Date.now() - started } });
	} finally {
		stop();
	}
}

// ------------------------------------------------------------------------------------------
// Updates and lifecycle actions

export async function updateSandbox(actor: Actor, row: Sandbox, input: z.infer<typeof sandboxUpdateSchema>): Promise<Sandbox> {
	if (row.state === 'destroyed') throw new ApiError(400, 'SANDBOX_DESTROYED', 'the sandbox is destroyed');
	const patch: Partial<typeof sandbox.$inferInsert> = { updatedAt: new Date() };
	if (input.name !== undefined) patch.name = input.name;
	if (input.slug !== undefined) patch.slug = input.slug;
	if (input.tags !== undefined) patch.tags = input.tags;
	if (input.metadata !== undefined) patch.metadata = input.metadata;
	if (input.always_on !== undefined) patch.alwaysOn = input.always_on;
	if (input.idle_timeout_sec !== undefined) patch.idleTimeoutSec = input.idle_timeout_sec;
	if (input.timeout_sec !== undefined) {
		patch.timeoutSec = input.timeout_sec;
		if (row.state === 'running' || row.state === 'paused') patch.expiresAt = new Date(Date.now() + input.timeout_sec * 1000);
	}
	try {
		const [updated] = await db.update(sandbox).set(patch).where(eq(sandbox.id, row.id)).returning();
		await audit(auditActorOf(actor), { action: 'sandbox.updated', resourceType: 'sandbox', resourceId: row.id, workspaceId: row.workspaceId, metadata: { fields: Object.keys(input) } });
		await emit({ organizationId: row.organizationId, workspaceId: row.workspaceId, type: 'sandbox.updated', resourceType: 'sandbox', resourceId: row.id, data: { sandbox_id: row.id, fields: Object.keys(input) } });
		return updated;
	} catch (e) {
		if (isUniqueViolation(e)) throw conflict('a live sandbox with this slug already exists in the workspace', { field: 'slug' });
		throw e;
	}
}

/** Destroys the sandbox on its host (idempotent) and marks it destroyed. */
export async function destroySandbox(actor: Actor | null, row: Sandbox, reason = 'deleted'): Promise<Sandbox> {
	if (row.state === 'destroyed') return row;
	if (row.hostId) {
		try {
			await agentCall(row.hostId, 'sandbox.destroy', { id: row.id }, { timeoutMs: 30_000 });
		} catch (err) {
			// An unreachable host is reconciled when it reconnects (it is told to destroy unknown sandboxes).
			if (!(err instanceof HostUnavailableError) && !(err instanceof AgentError && err.code === 'SANDBOX_NOT_FOUND')) throw agentFailure(err);
		}
	}
	const done = (await transition(row.id, 'destroyed', { eventData: { reason } })) ?? (await getSandbox(row.organizationId, row.id));
	if (actor) await audit(auditActorOf(actor), { action: 'sandbox.destroyed', resourceType: 'sandbox', resourceId: row.id, workspaceId: row.workspaceId });
	return done;
}

/** Freezes every process of the sandbox (memory kept). */
export async function pauseSandbox(actor: Actor | null, row: Sandbox, reason = 'requested'): Promise<Sandbox> {
	if (row.state === 'paused') return row;
	if (row.state !== 'running') throw notRunning(row);
	try {
		await agentCall(row.hostId!, 'sandbox.pause', { id: row.id });
	} catch (err) {
		throw agentFailure(err);
	}
	const paused = await mustTransition(row, 'paused', { from: ['running'], eventData: { reason } });
	if (actor) await audit(auditActorOf(actor), { action: 'sandbox.paused', resourceType: 'sandbox', resourceId: row.id, workspaceId: row.workspaceId });
	return paused;
}

export async function resumeSandbox(actor: Actor | null, row: Sandbox): Promise<Sandbox> {
	if (row.state === 'running') return row;
	if (row.state !== 'paused') throw notRunning(row);
	await assertCredits(row.organizationId);
	try {
		await agentCall(row.hostId!, 'sandbox.resume', { id: row.id });
	} catch (err) {
		throw agentFailure(err);
	}
	const now = Date.now();
	const expired = !row.expiresAt || row.expiresAt.getTime() <= now + 1000;
	const resumed = await mustTransition(row, 'running', {
		from: ['paused'],
		patch: { lastActivityAt: new Date(now), ...(expired ? { expiresAt: new Date(now + row.timeoutSec * 1000) } : {}) },
		eventType: 'sandbox.resumed'
	});
	if (actor) await audit(auditActorOf(actor), { action: 'sandbox.resumed', resourceType: 'sandbox', resourceId: row.id, workspaceId: row.workspaceId });
	return resumed;
}

/** Pushes the deadline: `timeout_sec` from now (default: the sandbox's own timeout). */
export async function extendSandbox(actor: Actor, row: Sandbox, timeoutSec?: number): Promise<Sandbox> {
	if (row.state !== 'running' && row.state !== 'paused') throw notRunning(row);
	const secs = timeoutSec ?? row.timeoutSec;
	const [updated] = await db
		.update(sandbox)
		.set({ expiresAt: new Date(Date.now() + secs * 1000), updatedAt: new Date() })
		.where(eq(sandbox.id, row.id))
		.returning();
	await emit({ organizationId: row.organizationId, workspaceId: row.workspaceId, type: 'sandbox.extended', resourceType: 'sandbox', resourceId: row.id, data: { sandbox_id: row.id, timeout_sec: secs, expires_at: updated.expiresAt?.toISOString() } });
	await audit(auditActorOf(actor), { action: 'sandbox.extended', resourceType: 'sandbox', resourceId: row.id, workspaceId: row.workspaceId, metadata: { timeout_sec: secs } });
	return updated;
}

function notRunning(row: Sandbox): ApiError {
	if (row.state === 'destroyed') return new ApiError(400, 'SANDBOX_DESTROYED', 'the sandbox is destroyed');
	return new ApiError(409, 'SANDBOX_NOT_RUNNING', `the sandbox is ${row.state}`, { state: row.state, last_error: row.lastError });
}

/**
 * For work inside a sandbox (exec, files, terminals): it must be running; a paused sandbox is
 * resumed first. Activity resets the idle clock.
 */
export async function ensureRunning(row: Sandbox): Promise<Sandbox> {
	if (row.state === 'paused') row = await resumeSandbox(null, row);
	if (row.state !== 'running') throw notRunning(row);
	touch(row);
	return row;
}

/** For reads that the agent answers without entering the sandbox: running or paused. */
export function requireLive(row: Sandbox): Sandbox {
	if (row.state !== 'running' && row.state !== 'paused') throw notRunning(row);
	return row;
}

const lastTouch = new Map<string, number>();
/** Records activity (at most once a second per sandbox; off the request path). */
export function touch(row: Sandbox): void {
	const now = Date.now();
	if ((lastTouch.get(row.id) ?? 0) > now - 1000) return;
	lastTouch.set(row.id, now);
	if (lastTouch.size > 50_000) lastTouch.clear();
	db.update(sandbox)
		.set({ lastActivityAt: new Date(now) })
		.where(eq(sandbox.id, row.id))
		.catch((e) => console.error('activity update failed', e));
}

// ------------------------------------------------------------------------------------------
// Exec

export interface ExecOutcome extends ExecRunResult {
	exec_id: string;
}

/** Runs a command to completion; `onOutput` receives ordered chunks when streaming. */
export async function execInSandbox(
	row: Sandbox,
	input: ExecInput,
	opts: { onOutput?: (p: ExecProgress) => void; signal?: AbortSignal } = {}
): Promise<ExecOutcome> {
	const command = commandOf(input);
	if (!command) throw validationError('command is required', { command: ['required'] });
	row = await ensureRunning(row);
	const execId = crypto.randomUUID();
	const timeoutMs = input.timeout_ms ?? (input.timeout ? Math.round(input.timeout * 1000) : 60_000);
	await emit({ organizationId: row.organizationId, workspaceId: row.workspaceId, type: 'sandbox.exec.started', resourceType: 'sandbox', resourceId: row.id, data: { sandbox_id: row.id, exec_id: execId, command: command.slice(0, 1000) } });
	let result: ExecRunResult;
	try {
		result = await agentCall(
			row.hostId!,
			'exec.run',
			{ sandbox_id: row.id, exec_id: execId, command, cwd: input.cwd, env: input.env, timeout_ms: timeoutMs, stdin: input.stdin, shell: input.shell, stream: !!opts.onOutput },
			{ timeoutMs: timeoutMs + 15_000, signal: opts.signal, onProgress: opts.onOutput }
		);
	} catch (err) {
		throw agentFailure(err);
	}
	touch(row);
	await emit({
		organizationId: row.organizationId,
		workspaceId: row.workspaceId,
		type: 'sandbox.exec.completed',
		resourceType: 'sandbox',
		resourceId: row.id,
		data: { sandbox_id: row.id, exec_id: execId, exit_code: result.exit_code, duration_ms: result.duration_ms, timed_out: result.timed_out }
	});
	return { ...result, exec_id: execId };
}

export { sandboxEnv };
