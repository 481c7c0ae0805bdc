/**
 * Computers: persistent desktops. A computer row owns a sandbox (template `desktop-host` by
 * default, or the debootstrap `desktop`) with a desktop started by the agent (`desktop.start`).
 *
 * - create: row (provisioning) → sandbox (createSandbox, always_on) → desktop.start → active.
 * - stop: pause the sandbox (memory and files kept) → stopped. start: resume it, or boot a new
 *   sandbox when it is gone. restart: restart the desktop session in place.
 * - delete: destroy the sandbox → destroyed.
 * Desktop actions go to the agent (`desktop.action`); input from the API is refused with 409
 * while a person holds control (take over / hand back).
 */
import { and, count, desc, eq, ne, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DesktopAction, DesktopActionResult, DesktopInfo } from '$lib/protocol';
import { db } from '../db';
import { computer, computerService, sandbox, type Computer, type Sandbox } from '../db/schema';
import { audit, auditActorOf } from '../audit/service';
import { emit } from '../events/service';
import { agentCall } from '../hosts/connections';
import { AgentError } from '../hosts/hub';
import { knownRegions } from '../hosts/scheduler';
import { ApiError, notFound, validationError } from '../http/errors';
import type { Page } from '../http/pagination';
import { metadataSchema } from '../http/validate';
import { slugify } from '../slug';
import { ownershipSchema, resolveOwnership } from '../workspaces/service';
import { agentFailure, createSandbox, destroySandbox, ensureRunning, getSandbox, pauseSandbox, resumeSandbox, type Actor } from '../sandboxes/service';
import type { SandboxCreateInput, SizeName } from '../sandboxes/schemas';

// ------------------------------------------------------------------------------------------
// Schemas

export const COMPUTER_SIZES = {
	xs: { cpu_count: 1, memory_mb: 2048 },
	small: { cpu_count: 1, memory_mb: 4096 },
	medium: { cpu_count: 2, memory_mb: 8192 },
	large: { cpu_count: 4, memory_mb: 16384 },
	xl: { cpu_count: 8, memory_mb: 32768 }
} as const;
type ComputerSize = keyof typeof COMPUTER_SIZES;

const sizeSchema = z
	.string()
	.transform((s) => (s === 'xlarge' ? 'xl' : s))
	.pipe(z.enum(Object.keys(COMPUTER_SIZES) as [ComputerSize, ...ComputerSize[]]));

export const computerCreateSchema = ownershipSchema.extend({
	name: z.string().trim().min(1).max(100),
	template_type: z.string().min(1).max(100).default('miosa-desktop'),
	size: sizeSchema.default('small'),
	selected_apps: z.array(z.string().regex(/^[A-Za-z0-9._+-]{1,64}$/)).max(20).default([]),
	visibility: z.enum(['public', 'tenant', 'key']).default('tenant'),
	metadata: metadataSchema.default({}),
	region: z.string().min(1).max(50).optional(),
	screen_width: z.number().int().min(320).max(3840).optional(),
	screen_height: z.number().int().min(240).max(2160).optional(),
	resolution: z
		.object({ width: z.number().int().min(320).max(3840), height: z.number().int().min(240).max(2160) })
		.optional(),
	agent_runtime_profile_id: z.string().optional(),
	skip_agent_runtime_profile: z.boolean().optional()
});
export type ComputerCreateInput = z.infer<typeof computerCreateSchema>;

export const computerUpdateSchema = z.object({
	name: z.string().trim().min(1).max(100).optional(),
	visibility: z.enum(['public', 'tenant', 'key']).optional(),
	metadata: metadataSchema.optional()
});

export const computerListQuery = z
	.object({ status: z.enum(['provisioning', 'active', 'running', 'paused', 'stopped', 'error', 'destroyed']).optional() })
	.passthrough();

export const computerExecSchema = z.object({
	command: z.string().min(1).max(100_000),
	timeout: z.number().positive().max(300).optional(),
	working_dir: z.string().max(4096).optional(),
	cwd: z.string().max(4096).optional(),
	env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(32_768)).optional()
});

export const controlSchema = z.object({ holder: z.enum(['agent', 'user']) });

// ------------------------------------------------------------------------------------------
// Representation

export type ComputerStatus = 'provisioning' | 'active' | 'paused' | 'stopped' | 'error' | 'destroyed';

/** The status the API shows: the stored one, corrected by the sandbox's actual state. */
export function statusOf(c: Computer, sb?: Sandbox | null): ComputerStatus {
	const s = c.status as ComputerStatus;
	if (s !== 'active' || !sb) return s;
	if (sb.state === 'paused') return 'paused';
	if (sb.state === 'error' || sb.state === 'destroyed') return 'error';
	return 'active';
}

export function toComputerDto(c: Computer, sb?: Sandbox | null) {
	const iso = (d: Date | null) => d?.toISOString() ?? null;
	const status = statusOf(c, sb);
	const lastError = c.lastError ?? (status === 'error' ? (sb?.lastError ?? 'the desktop sandbox is gone') : null);
	return {
		id: c.id,
		name: c.name,
		slug: c.slug,
		status,
		template_type: c.templateType,
		template_id: c.templateId,
		size: c.size,
		vcpus: c.cpuCount,
		cpu_count: c.cpuCount,
		memory_mb: c.memoryMb,
		region: c.region,
		visibility: c.visibility,
		tenant_id: c.organizationId,
		organization_id: c.organizationId,
		owner_user_id: c.createdBy,
		workspace_id: c.workspaceId,
		project_id: c.projectId,
		external_workspace_id: c.externalWorkspaceId,
		external_project_id: c.externalProjectId,
		external_user_id: c.externalUserId,
		sandbox_id: c.sandboxId,
		vm_id: c.sandboxId,
		host_id: sb?.hostId ?? null,
		selected_apps: c.selectedApps,
		settings: {},
		metadata: c.metadata,
		screen: { width: c.screenWidth, height: c.screenHeight },
		control: { holder: c.controlHolder, by: c.controlBy, since: iso(c.controlSince) },
		ip_address: null,
		preview_domain: null,
		sandbox_url: null,
		desktop_url: `/computers/${c.id}`,
		last_error: lastError,
		started_at: iso(c.startedAt),
		stopped_at: iso(c.stoppedAt),
		destroyed_at: iso(c.destroyedAt),
		created_at: c.createdAt.toISOString(),
		updated_at: c.updatedAt.toISOString()
	};
}

// ------------------------------------------------------------------------------------------
// Reads

export async function getComputer(orgId: string, id: string): Promise<Computer> {
	const [row] = await db.select().from(computer).where(and(eq(computer.organizationId, orgId), eq(computer.id, id)));
	if (!row) throw notFound('computer');
	return row;
}

export async function sandboxOf(c: Computer): Promise<Sandbox | null> {
	if (!c.sandboxId) return null;
	const [sb] = await db.select().from(sandbox).where(eq(sandbox.id, c.sandboxId));
	return sb ?? null;
}

export async function computerDto(c: Computer) {
	return toComputerDto(c, await sandboxOf(c));
}

export async function listComputers(orgId: string, page: Page, q: z.infer<typeof computerListQuery>) {
	const where: SQL[] = [eq(computer.organizationId, orgId)];
	const status = q.status === 'running' ? 'active' : q.status;
	if (status && status !== 'paused') where.push(eq(computer.status, status));
	else if (!status) where.push(ne(computer.status, 'destroyed'));
	const [rows, [{ n }]] = await Promise.all([
		db
			.select({ c: computer, sb: sandbox })
			.from(computer)
			.leftJoin(sandbox, eq(sandbox.id, computer.sandboxId))
			.where(and(...where))
			.orderBy(desc(computer.createdAt), desc(computer.id))
			.limit(page.pageSize)
			.offset(page.offset),
		db.select({ n: count() }).from(computer).where(and(...where))
	]);
	let items = rows.map((r) => toComputerDto(r.c, r.sb));
	if (q.status === 'paused') items = items.filter((i) => i.status === 'paused');
	return { items, total: n };
}

// ------------------------------------------------------------------------------------------
// Lifecycle


/** Agent template for a template_type. */
function agentTemplateFor(templateType: string): string {
	if (templateType === 'desktop' || templateType === 'desktop-full') return 'desktop';
	return process.env.HANGAR_DESKTOP_TEMPLATE || 'desktop-host';
}

async function patchComputer(id: string, patch: Partial<typeof computer.$inferInsert>): Promise<Computer> {
	const [row] = await db
		.update(computer)
		.set({ ...patch, updatedAt: new Date() })
		.where(eq(computer.id, id))
		.returning();
	return row;
}

async function computerEvent(c: Computer, type: string, data: Record<string, unknown> = {}) {
	await emit({ organizationId: c.organizationId, workspaceId: c.workspaceId, type, resourceType: 'computer', resourceId: c.id, data: { computer_id: c.id, ...data } });
}

export async function createComputer(actor: Actor, input: ComputerCreateInput): Promise<Computer> {
	const orgId = actor.principal.organizationId;
	const size = COMPUTER_SIZES[input.size];
	const templateId = agentTemplateFor(input.template_type);
	if (input.region) {
		const regions = await knownRegions(orgId);
		if (!regions.includes(input.region)) throw new ApiError(400, 'invalid_region', `unknown region ${input.region}`, { known_regions: regions });
	}
	const width = input.resolution?.width ?? input.screen_width ?? 1280;
	const height = input.resolution?.height ?? input.screen_height ?? 800;
	const ownership = await resolveOwnership(orgId, input);
	const [row] = await db
		.insert(computer)
		.values({
			organizationId: orgId,
			workspaceId: ownership.workspace.id,
			projectId: ownership.project.id,
			createdBy: actor.principal.userId,
			name: input.name,
			slug: `${slugify(input.name) || 'computer'}`.slice(0, 50),
			templateType: input.template_type,
			templateId,
			size: input.size,
			cpuCount: size.cpu_count,
			memoryMb: size.memory_mb,
			region: input.region ?? 'local',
			visibility: input.visibility,
			screenWidth: width,
			screenHeight: height,
			selectedApps: input.selected_apps,
			metadata: input.metadata,
			externalWorkspaceId: ownership.workspace.externalWorkspaceId ?? input.external_workspace_id ?? null,
			externalProjectId: ownership.project.externalProjectId ?? input.external_project_id ?? null,
			externalUserId: ownership.externalUserId
		})
		.returning();
	await computerEvent(row, 'computer.created', { template_type: row.templateType, size: row.size });
	await audit(auditActorOf(actor), { action: 'computer.created', resourceType: 'computer', resourceId: row.id, workspaceId: row.workspaceId, metadata: { size: row.size } });
	const work = provision(actor, row, input.region).catch((e) => console.error('computer provisioning failed', e));
	// Answer as soon as the desktop is up (usually ~1–2 s); a first template build continues in the background.
	await Promise.race([work, new Promise((r) => setTimeout(r, 20_000))]);
	return (await getComputer(orgId, row.id)) ?? row;
}

function sandboxInput(c: Computer, region?: string): SandboxCreateInput {
	return {
		template_id: c.templateId,
		size: c.size as SizeName,
		name: `computer-${c.slug}`,
		region,
		always_on: true,
		network: true,
		metadata: { computer_id: c.id },
		tags: ['computer'],
		workspace_id: c.workspaceId,
		project_id: c.projectId
	} as SandboxCreateInput;
}

type Boot = (input: SandboxCreateInput) => Promise<Sandbox>;

/**
 * Boots a sandbox for the computer (a fresh one, or `boot`'s) and starts its desktop; marks it
 * active (or error) and starts its services there.
 */
async function provision(actor: Actor, c: Computer, region?: string, boot?: Boot): Promise<void> {
	try {
		let sb = await (boot ?? ((input) => createSandbox(actor, input)))(sandboxInput(c, region));
		c = await patchComputer(c.id, { sandboxId: sb.id, region: sb.region });
		// A template built on first use: wait for the sandbox to run.
		const deadline = Date.now() + 30 * 60_000;
		while (sb.state === 'provisioning' && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 1000));
			sb = await getSandbox(c.organizationId, sb.id);
		}
		if (sb.state !== 'running') throw new ApiError(502, 'AGENT_UNAVAILABLE', `the desktop sandbox is ${sb.state}: ${sb.lastError ?? ''}`);
		await startDesktop(c, sb);
		const now = new Date();
		const active = await db
			.update(computer)
			.set({ status: 'active', startedAt: now, stoppedAt: null, lastError: null, updatedAt: now })
			.where(and(eq(computer.id, c.id), eq(computer.status, 'provisioning')))
			.returning();
		if (active[0]) {
			await computerEvent(active[0], 'computer.started', { sandbox_id: sb.id });
			// Services defined on the computer run in its new sandbox (dynamic import: that module depends on this one).
			const { relaunchServices } = await import('./services');
			await relaunchServices(active[0], sb).catch((e) => console.error('relaunching services failed', e));
		}
		else {
			// Deleted while provisioning.
			const [now2] = await db.select().from(computer).where(eq(computer.id, c.id));
			if (now2?.status === 'destroyed') await destroySandbox(null, sb, 'computer deleted').catch(() => {});
		}
	} catch (e) {
		const err = agentFailure(e);
		const failed = await patchComputer(c.id, { status: 'error', lastError: err.message });
		await computerEvent(failed, 'computer.error', { reason: err.message });
	}
}

async function startDesktop(c: Computer, sb: Sandbox): Promise<DesktopInfo> {
	return agentCall(
		sb.hostId!,
		'desktop.start',
		{ sandbox_id: sb.id, width: c.screenWidth, height: c.screenHeight, apps: c.selectedApps },
		{ timeoutMs: 60_000 }
	);
}

export async function updateComputer(actor: Actor, c: Computer, input: z.infer<typeof computerUpdateSchema>): Promise<Computer> {
	if (c.status === 'destroyed') throw new ApiError(409, 'CONFLICT', 'the computer is destroyed');
	const patch: Partial<typeof computer.$inferInsert> = {};
	if (input.name !== undefined) patch.name = input.name;
	if (input.visibility !== undefined) patch.visibility = input.visibility;
	if (input.metadata !== undefined) patch.metadata = input.metadata;
	const row = await patchComputer(c.id, patch);
	await computerEvent(row, 'computer.updated', { fields: Object.keys(input) });
	await audit(auditActorOf(actor), { action: 'computer.updated', resourceType: 'computer', resourceId: c.id, workspaceId: c.workspaceId, metadata: { fields: Object.keys(input) } });
	return row;
}

export async function deleteComputer(actor: Actor, c: Computer): Promise<Computer> {
	if (c.status === 'destroyed') return c;
	const row = await patchComputer(c.id, { status: 'destroyed', destroyedAt: new Date() });
	// Its services die with the sandbox.
	await db.update(computerService).set({ status: 'stopped', pid: null, nextRestartAt: null, updatedAt: new Date() }).where(eq(computerService.computerId, c.id));
	const sb = await sandboxOf(c);
	if (sb && sb.state !== 'destroyed') await destroySandbox(actor, sb, 'computer deleted');
	await computerEvent(row, 'computer.destroyed');
	await audit(auditActorOf(actor), { action: 'computer.destroyed', resourceType: 'computer', resourceId: c.id, workspaceId: c.workspaceId });
	return row;
}

export async function stopComputer(actor: Actor, c: Computer): Promise<Computer> {
	if (c.status === 'destroyed') throw notRunning(c, 'destroyed');
	if (c.status === 'stopped') return c;
	if (c.status === 'provisioning') throw notRunning(c, 'provisioning');
	const sb = await sandboxOf(c);
	if (sb?.state === 'running') await pauseSandbox(actor, sb, 'computer stopped');
	const row = await patchComputer(c.id, { status: 'stopped', stoppedAt: new Date() });
	await computerEvent(row, 'computer.stopped');
	return row;
}

export async function startComputer(actor: Actor, c: Computer): Promise<Computer> {
	if (c.status === 'destroyed') throw notRunning(c, 'destroyed');
	if (c.status === 'provisioning') return c;
	let sb = await sandboxOf(c);
	if (sb?.state === 'paused') sb = await resumeSandbox(actor, sb);
	if (sb?.state === 'running') {
		// Make sure the desktop runs (it may have been restarted with its agent).
		const info = await agentCall(sb.hostId!, 'desktop.status', { sandbox_id: sb.id }).catch(() => null);
		if (info?.state !== 'running') await startDesktop(c, sb).catch((e) => { throw agentFailure(e); });
		const row = await patchComputer(c.id, { status: 'active', startedAt: c.status === 'active' ? c.startedAt : new Date(), stoppedAt: null, lastError: null });
		if (c.status !== 'active') await computerEvent(row, 'computer.started', { sandbox_id: sb.id });
		return row;
	}
	// The sandbox is gone: boot a new one (files of the old one are lost: no persistent disk yet).
	const row = await patchComputer(c.id, { status: 'provisioning', sandboxId: null, lastError: null });
	await provision(actor, row);
	return getComputer(c.organizationId, c.id);
}

export async function restartComputer(actor: Actor, c: Computer): Promise<Computer> {
	if (c.status === 'destroyed') throw notRunning(c, 'destroyed');
	const sb = await sandboxOf(c);
	if (sb && (sb.state === 'running' || sb.state === 'paused')) {
		const live = await ensureRunning(sb);
		try {
			await agentCall(live.hostId!, 'desktop.stop', { sandbox_id: live.id });
			await startDesktop(c, live);
		} catch (e) {
			throw agentFailure(e);
		}
		const row = await patchComputer(c.id, { status: 'active', startedAt: new Date(), stoppedAt: null, lastError: null, controlHolder: 'agent', controlBy: null, controlSince: null });
		await computerEvent(row, 'computer.restarted', { sandbox_id: live.id });
		return row;
	}
	return startComputer(actor, { ...c, status: 'error' });
}

// ------------------------------------------------------------------------------------------
// Clone and resize

export const cloneSchema = z.object({
	name: z.string().trim().min(1).max(100).optional(),
	metadata: metadataSchema.optional()
});
export const resizeSchema = z.object({ size: sizeSchema });

/**
 * A sandbox for `c` booted from a snapshot of `src` (its writable layer: /workspace, /home/user,
 * /tmp…), on the host that holds the snapshot; the snapshot is removed once the sandbox booted.
 */
async function bootFrom(actor: Actor, c: Computer, src: Sandbox): Promise<Boot> {
	const { createSnapshot, deleteSnapshot, getSnapshot } = await import('../snapshots/service');
	return async (input) => {
		const snap = await createSnapshot(actor, src, { comment: `computer ${c.id} from sandbox ${src.id}` }, { waitMs: 120_000, implicit: true });
		try {
			if (snap.status !== 'ready')
				throw new ApiError(502, 'AGENT_UNAVAILABLE', `copying the computer's files failed: the snapshot is ${snap.status}${snap.error ? `: ${snap.error}` : ''}`);
			return await createSandbox(actor, input, {
				hostId: snap.hostId!,
				fromSnapshot: snap.id,
				eventData: { from_snapshot_id: snap.id, source_sandbox_id: src.id, computer_id: c.id }
			});
		} finally {
			void getSnapshot(c.organizationId, snap.id)
				.then((s) => deleteSnapshot(actor, s))
				.catch((e) => console.error('removing the implicit computer snapshot failed', e));
		}
	};
}

/**
 * Clone: a new computer with a copy of this one's files (a snapshot of its sandbox), its size,
 * screen, apps, settings and service definitions (started in the clone). The source must be active.
 */
export async function cloneComputer(actor: Actor, c: Computer, input: z.infer<typeof cloneSchema>): Promise<Computer> {
	const { sb } = await requireRunning(c);
	const [row] = await db
		.insert(computer)
		.values({
			organizationId: c.organizationId,
			workspaceId: c.workspaceId,
			projectId: c.projectId,
			createdBy: actor.principal.userId,
			name: input.name ?? `${c.name} (clone)`.slice(0, 100),
			slug: `${slugify(input.name ?? `${c.name}-clone`) || 'computer'}`.slice(0, 50),
			templateType: c.templateType,
			templateId: c.templateId,
			size: c.size,
			cpuCount: c.cpuCount,
			memoryMb: c.memoryMb,
			region: c.region,
			visibility: c.visibility,
			screenWidth: c.screenWidth,
			screenHeight: c.screenHeight,
			selectedApps: c.selectedApps,
			metadata: input.metadata ?? c.metadata,
			externalWorkspaceId: c.externalWorkspaceId,
			externalProjectId: c.externalProjectId,
			externalUserId: c.externalUserId
		})
		.returning();
	const services = await db.select().from(computerService).where(eq(computerService.computerId, c.id));
	if (services.length)
		await db.insert(computerService).values(
			services.map((s) => ({
				computerId: row.id,
				organizationId: s.organizationId,
				name: s.name,
				command: s.command,
				env: s.env,
				cwd: s.cwd,
				restartPolicy: s.restartPolicy,
				maxRestarts: s.maxRestarts,
				backoffMs: s.backoffMs,
				desired: s.desired,
				status: s.desired === 'running' ? 'starting' : 'stopped'
			}))
		);
	await computerEvent(row, 'computer.created', { template_type: row.templateType, size: row.size, cloned_from: c.id });
	await audit(auditActorOf(actor), { action: 'computer.cloned', resourceType: 'computer', resourceId: row.id, workspaceId: row.workspaceId, metadata: { source_computer_id: c.id } });
	await provision(actor, row, undefined, await bootFrom(actor, row, sb));
	return getComputer(c.organizationId, row.id);
}

/**
 * Resize: the agent cannot change a live sandbox's limits, so the computer moves to a new sandbox
 * of the new size booted from a snapshot of the current one (files kept; processes and the
 * desktop session restart; services are started again). A stopped computer stays stopped; one
 * without a live sandbox only records the size (its next start boots with it).
 */
export async function resizeComputer(actor: Actor, c: Computer, size: ComputerSize): Promise<Computer> {
	if (c.status === 'destroyed') throw notRunning(c, 'destroyed');
	if (c.status === 'provisioning') throw notRunning(c, 'provisioning');
	if (c.size === size) return c;
	const old = { size: c.size, cpuCount: c.cpuCount, memoryMb: c.memoryMb };
	const next = { size, cpuCount: COMPUTER_SIZES[size].cpu_count, memoryMb: COMPUTER_SIZES[size].memory_mb };
	const sb = await sandboxOf(c);
	if (!sb || (sb.state !== 'running' && sb.state !== 'paused')) {
		const row = await patchComputer(c.id, next);
		await computerEvent(row, 'computer.resized', { from: old.size, to: size });
		return row;
	}
	const wasStopped = c.status === 'stopped';
	const live = await ensureRunning(sb);
	const moving = await patchComputer(c.id, { ...next, status: 'provisioning' });
	await provision(actor, moving, undefined, await bootFrom(actor, moving, live));
	const after = await getComputer(c.organizationId, c.id);
	if (after.status !== 'active' || after.sandboxId === live.id) {
		// Stay on the old sandbox.
		const reverted = await patchComputer(c.id, { ...old, sandboxId: live.id, status: 'active', lastError: null });
		if (after.sandboxId && after.sandboxId !== live.id) {
			const fresh = await sandboxOf(after);
			if (fresh && fresh.state !== 'destroyed') await destroySandbox(actor, fresh, 'computer resize failed').catch(() => {});
		}
		if (wasStopped) await stopComputer(actor, reverted).catch(() => {});
		throw new ApiError(502, 'AGENT_UNAVAILABLE', `resizing the computer failed: ${after.lastError ?? 'unknown error'}`);
	}
	await destroySandbox(actor, live, 'computer resized').catch((e) => console.error('destroying the old computer sandbox failed', e));
	await computerEvent(after, 'computer.resized', { from: old.size, to: size, sandbox_id: after.sandboxId });
	await audit(auditActorOf(actor), { action: 'computer.resized', resourceType: 'computer', resourceId: c.id, workspaceId: c.workspaceId, metadata: { from: old.size, to: size } });
	if (wasStopped) return stopComputer(actor, after);
	return after;
}

// ------------------------------------------------------------------------------------------
// Running things on the computer

function notRunning(c: Computer, status: string): ApiError {
	return new ApiError(409, 'COMPUTER_NOT_RUNNING', `the computer is ${status}`, { status });
}

/** The computer must be active with a running sandbox. */
export async function requireRunning(c: Computer): Promise<{ c: Computer; sb: Sandbox }> {
	const sb = await sandboxOf(c);
	const status = statusOf(c, sb);
	if (status !== 'active' || !sb || sb.state !== 'running') throw notRunning(c, status);
	return { c, sb };
}

/** Input actions (refused for the API while a person holds control). */
const INPUT_ACTIONS = new Set<DesktopAction['type']>(['click', 'move', 'mouse_down', 'mouse_up', 'drag', 'scroll', 'type', 'key', 'key_down', 'key_up', 'clipboard_set', 'window', 'window_geometry', 'launch']);
/** Reads that are not worth an event each. */
const QUIET_ACTIONS = new Set<DesktopAction['type']>(['cursor', 'screen_size', 'windows', 'environment', 'clipboard_get']);

export type ActionSource = 'api' | 'user';

function describe(a: DesktopAction): Record<string, unknown> {
	const o: Record<string, unknown> = { ...a };
	if (a.type === 'type' || a.type === 'clipboard_set') {
		o.text = a.text.length > 200 ? `${a.text.slice(0, 200)}…` : a.text;
		o.length = a.text.length;
	}
	return o;
}

export async function desktopAction(c: Computer, action: DesktopAction, source: ActionSource = 'api'): Promise<DesktopActionResult> {
	const { sb } = await requireRunning(c);
	if (source === 'api' && INPUT_ACTIONS.has(action.type) && c.controlHolder === 'user') {
		throw new ApiError(409, 'CONFLICT', 'a person has taken over this desktop; input from the API is paused until control is handed back', {
			control: { holder: 'user', by: c.controlBy, since: c.controlSince?.toISOString() ?? null }
		});
	}
	let result: DesktopActionResult;
	try {
		result = await agentCall(sb.hostId!, 'desktop.action', { sandbox_id: sb.id, action }, { timeoutMs: 45_000 });
	} catch (e) {
		throw desktopFailure(e);
	}
	if (!QUIET_ACTIONS.has(action.type)) {
		void computerEvent(c, `computer.desktop.${action.type}`, { action: describe(action), source, duration_ms: result.duration_ms }).catch(() => {});
	}
	return result;
}

export function desktopFailure(e: unknown): ApiError {
	if (e instanceof AgentError) {
		if (e.code === 'INVALID_PARAMS') return validationError(e.message, { _: [e.message] });
		if (e.code === 'DESKTOP_NOT_RUNNING' || e.code === 'SANDBOX_NOT_FOUND' || e.code === 'SANDBOX_PAUSED')
			return new ApiError(409, 'COMPUTER_NOT_RUNNING', e.message);
		if (e.code === 'NOT_FOUND') return notFound('window');
		if (e.code === 'DESKTOP_ACTION_FAILED') return new ApiError(502, 'AGENT_UNAVAILABLE', e.message, { agent_code: e.code });
	}
	return agentFailure(e);
}

export async function setControl(actor: Actor, c: Computer, holder: 'agent' | 'user'): Promise<Computer> {
	await requireRunning(c);
	if (c.controlHolder === holder) return c;
	const by = holder === 'user' ? (actor.principal.userId ?? actor.principal.apiKeyId ?? 'user') : null;
	const row = await patchComputer(c.id, { controlHolder: holder, controlBy: by, controlSince: new Date() });
	await computerEvent(row, holder === 'user' ? 'computer.control.taken' : 'computer.control.returned', { holder, by });
	controlListeners.forEach((l) => l(row));
	return row;
}

type ControlListener = (c: Computer) => void;
const controlListeners = new Set<ControlListener>();
/** Live view bridges follow control changes made in this process. */
export function onControlChange(l: ControlListener): () => void {
	controlListeners.add(l);
	return () => controlListeners.delete(l);
}

export { ensureRunning };
