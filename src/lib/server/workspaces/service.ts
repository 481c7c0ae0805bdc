import { and, asc, count, eq, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { db, isUniqueViolation } from '../db';
import { project, workspace, type Project, type Workspace } from '../db/schema';
import { ApiError, conflict, notFound } from '../http/errors';
import { metadataSchema, slugSchema } from '../http/validate';
import { slugify, slugSuffix } from '../slug';
import type { Page } from '../http/pagination';

export const workspaceCreateSchema = z.object({
	name: z.string().trim().min(1).max(100),
	slug: slugSchema.optional(),
	description: z.string().max(1000).optional(),
	external_workspace_id: z.string().min(1).max(200).optional(),
	metadata: metadataSchema.optional()
});
export const workspaceUpdateSchema = workspaceCreateSchema.partial();

export const projectCreateSchema = z.object({
	workspace_id: z.string().uuid().optional(),
	workspace_slug: z.string().min(1).optional(),
	external_workspace_id: z.string().min(1).max(200).optional(),
	name: z.string().trim().min(1).max(100),
	slug: slugSchema.optional(),
	description: z.string().max(1000).optional(),
	external_project_id: z.string().min(1).max(200).optional(),
	metadata: metadataSchema.optional(),
	settings: metadataSchema.optional()
});
export const projectUpdateSchema = projectCreateSchema
	.omit({ workspace_id: true, workspace_slug: true, external_workspace_id: true })
	.partial();

export function toWorkspaceDto(w: Workspace) {
	return {
		id: w.id,
		tenant_id: w.organizationId,
		organization_id: w.organizationId,
		name: w.name,
		slug: w.slug,
		description: w.description,
		external_workspace_id: w.externalWorkspaceId,
		is_default: w.isDefault,
		metadata: w.metadata,
		created_at: w.createdAt.toISOString(),
		updated_at: w.updatedAt.toISOString()
	};
}

export function toProjectDto(p: Project, ws?: Workspace | null) {
	return {
		id: p.id,
		tenant_id: p.organizationId,
		workspace_id: p.workspaceId,
		external_workspace_id: ws?.externalWorkspaceId ?? null,
		external_project_id: p.externalProjectId,
		name: p.name,
		slug: p.slug,
		description: p.description,
		is_default: p.isDefault,
		metadata: p.metadata,
		settings: p.settings,
		created_at: p.createdAt.toISOString(),
		updated_at: p.updatedAt.toISOString()
	};
}

export async function listWorkspaces(orgId: string, page: Page, filter: { external_workspace_id?: string } = {}) {
	const where: SQL[] = [eq(workspace.organizationId, orgId)];
	if (filter.external_workspace_id) where.push(eq(workspace.externalWorkspaceId, filter.external_workspace_id));
	const [rows, [{ n }]] = await Promise.all([
		db.select().from(workspace).where(and(...where)).orderBy(asc(workspace.createdAt), asc(workspace.id)).limit(page.pageSize).offset(page.offset),
		db.select({ n: count() }).from(workspace).where(and(...where))
	]);
	return { rows, total: n };
}

export async function getWorkspace(orgId: string, id: string): Promise<Workspace> {
	const [w] = await db.select().from(workspace).where(and(eq(workspace.organizationId, orgId), eq(workspace.id, id)));
	if (!w) throw notFound('workspace');
	return w;
}

export async function createWorkspace(orgId: string, input: z.infer<typeof workspaceCreateSchema>): Promise<Workspace> {
	try {
		const [w] = await db
			.insert(workspace)
			.values({
				organizationId: orgId,
				name: input.name,
				slug: input.slug ?? slugify(input.name),
				description: input.description ?? null,
				externalWorkspaceId: input.external_workspace_id ?? null,
				metadata: input.metadata ?? {}
			})
			.returning();
		await db.insert(project).values({ organizationId: orgId, workspaceId: w.id, name: 'Default', slug: 'default', isDefault: true });
		return w;
	} catch (e) {
		if (isUniqueViolation(e)) throw conflict('a workspace with this slug or external_workspace_id already exists');
		throw e;
	}
}

export async function updateWorkspace(orgId: string, id: string, input: z.infer<typeof workspaceUpdateSchema>) {
	await getWorkspace(orgId, id);
	try {
		const [w] = await db
			.update(workspace)
			.set({
				...(input.name !== undefined && { name: input.name }),
				...(input.slug !== undefined && { slug: input.slug }),
				...(input.description !== undefined && { description: input.description }),
				...(input.external_workspace_id !== undefined && { externalWorkspaceId: input.external_workspace_id }),
				...(input.metadata !== undefined && { metadata: input.metadata }),
				updatedAt: new Date()
			})
			.where(and(eq(workspace.organizationId, orgId), eq(workspace.id, id)))
			.returning();
		return w;
	} catch (e) {
		if (isUniqueViolation(e)) throw conflict('a workspace with this slug or external_workspace_id already exists');
		throw e;
	}
}

/** Deletes a workspace with its projects; the default workspace stays. */
export async function deleteWorkspace(orgId: string, id: string): Promise<Workspace> {
	const w = await getWorkspace(orgId, id);
	if (w.isDefault) throw conflict('the default workspace cannot be deleted');
	await db.delete(workspace).where(eq(workspace.id, id));
	defaults.delete(orgId);
	return w;
}

export async function listProjects(orgId: string, page: Page, filter: { workspace_id?: string; external_project_id?: string }) {
	const where: SQL[] = [eq(project.organizationId, orgId)];
	if (filter.workspace_id) where.push(eq(project.workspaceId, filter.workspace_id));
	if (filter.external_project_id) where.push(eq(project.externalProjectId, filter.external_project_id));
	const [rows, [{ n }]] = await Promise.all([
		db
			.select({ project, workspace })
			.from(project)
			.innerJoin(workspace, eq(project.workspaceId, workspace.id))
			.where(and(...where))
			.orderBy(asc(project.createdAt), asc(project.id))
			.limit(page.pageSize)
			.offset(page.offset),
		db.select({ n: count() }).from(project).where(and(...where))
	]);
	return { rows, total: n };
}

export async function getProject(orgId: string, id: string) {
	const [row] = await db
		.select({ project, workspace })
		.from(project)
		.innerJoin(workspace, eq(project.workspaceId, workspace.id))
		.where(and(eq(project.organizationId, orgId), eq(project.id, id)));
	if (!row) throw notFound('project');
	return row;
}

export async function createProject(orgId: string, input: z.infer<typeof projectCreateSchema>) {
	const ws = await resolveWorkspace(orgId, input, { create: false, required: true });
	try {
		const [p] = await db
			.insert(project)
			.values({
				organizationId: orgId,
				workspaceId: ws.id,
				name: input.name,
				slug: input.slug ?? slugify(input.name),
				description: input.description ?? null,
				externalProjectId: input.external_project_id ?? null,
				metadata: input.metadata ?? {},
				settings: input.settings ?? {}
			})
			.returning();
		return { project: p, workspace: ws };
	} catch (e) {
		if (isUniqueViolation(e)) throw conflict('a project with this slug or external_project_id already exists in the workspace');
		throw e;
	}
}

export async function updateProject(orgId: string, id: string, input: z.infer<typeof projectUpdateSchema>) {
	const { workspace: ws } = await getProject(orgId, id);
	try {
		const [p] = await db
			.update(project)
			.set({
				...(input.name !== undefined && { name: input.name }),
				...(input.slug !== undefined && { slug: input.slug }),
				...(input.description !== undefined && { description: input.description }),
				...(input.external_project_id !== undefined && { externalProjectId: input.external_project_id }),
				...(input.metadata !== undefined && { metadata: input.metadata }),
				...(input.settings !== undefined && { settings: input.settings }),
				updatedAt: new Date()
			})
			.where(and(eq(project.organizationId, orgId), eq(project.id, id)))
			.returning();
		return { project: p, workspace: ws };
	} catch (e) {
		if (isUniqueViolation(e)) throw conflict('a project with this slug or external_project_id already exists in the workspace');
		throw e;
	}
}

export async function deleteProject(orgId: string, id: string) {
	const { project: p } = await getProject(orgId, id);
	if (p.isDefault) throw conflict('the default project of a workspace cannot be deleted');
	await db.delete(project).where(eq(project.id, id));
	return p;
}

// ---------------------------------------------------------------------------------------------
// Ownership: every create resolves workspace and project from the selectors of contract §1.10.

export interface OwnershipInput {
	workspace_id?: string;
	workspace_slug?: string;
	workspace_name?: string;
	external_workspace_id?: string;
	project_id?: string;
	project_slug?: string;
	project_name?: string;
	external_project_id?: string;
	external_user_id?: string;
}

export const ownershipSchema = z.object({
	workspace_id: z.string().uuid().optional(),
	workspace_slug: z.string().min(1).max(63).optional(),
	workspace_name: z.string().min(1).max(100).optional(),
	external_workspace_id: z.string().min(1).max(200).optional(),
	project_id: z.string().uuid().optional(),
	project_slug: z.string().min(1).max(63).optional(),
	project_name: z.string().min(1).max(100).optional(),
	external_project_id: z.string().min(1).max(200).optional(),
	external_user_id: z.string().min(1).max(200).optional()
});

export interface Ownership {
	workspace: Workspace;
	project: Project;
	externalUserId: string | null;
}

const defaults = new Map<string, { workspace: Workspace; project: Project }>();

async function defaultOwnership(orgId: string) {
	const cached = defaults.get(orgId);
	if (cached) return cached;
	const [ws] = await db.select().from(workspace).where(and(eq(workspace.organizationId, orgId), eq(workspace.isDefault, true)));
	if (!ws) throw new ApiError(422, 'VALIDATION_ERROR', 'the organization has no default workspace');
	const p = await defaultProject(ws);
	const value = { workspace: ws, project: p };
	defaults.set(orgId, value);
	return value;
}

async function defaultProject(ws: Workspace): Promise<Project> {
	const [p] = await db.select().from(project).where(and(eq(project.workspaceId, ws.id), eq(project.isDefault, true)));
	if (p) return p;
	await db
		.insert(project)
		.values({ organizationId: ws.organizationId, workspaceId: ws.id, name: 'Default', slug: 'default', isDefault: true })
		.onConflictDoNothing();
	const [again] = await db.select().from(project).where(and(eq(project.workspaceId, ws.id), eq(project.isDefault, true)));
	return again;
}

async function resolveWorkspace(
	orgId: string,
	input: { workspace_id?: string; workspace_slug?: string; workspace_name?: string; external_workspace_id?: string },
	opts: { create: boolean; required?: boolean }
): Promise<Workspace> {
	if (input.workspace_id) return getWorkspace(orgId, input.workspace_id);
	const byCol = input.external_workspace_id
		? { where: eq(workspace.externalWorkspaceId, input.external_workspace_id) }
		: input.workspace_slug
			? { where: eq(workspace.slug, input.workspace_slug) }
			: input.workspace_name
				? { where: eq(workspace.name, input.workspace_name) }
				: null;
	if (!byCol) {
		if (opts.required) {
			throw new ApiError(400, 'MISSING_PARAM', 'one of workspace_id, workspace_slug or external_workspace_id is required');
		}
		return (await defaultOwnership(orgId)).workspace;
	}
	const find = async () =>
		(await db.select().from(workspace).where(and(eq(workspace.organizationId, orgId), byCol.where)).orderBy(asc(workspace.createdAt)).limit(1))[0];
	const found = await find();
	if (found) return found;
	if (!opts.create) throw notFound('workspace');
	const name = input.workspace_name ?? input.workspace_slug ?? input.external_workspace_id!;
	const slug = input.workspace_slug ?? `${slugify(name)}-${slugSuffix()}`;
	await db
		.insert(workspace)
		.values({ organizationId: orgId, name, slug, externalWorkspaceId: input.external_workspace_id ?? null })
		.onConflictDoNothing();
	const created = await find();
	if (!created) throw conflict('could not create the workspace (slug taken)');
	return created;
}

/** Resolves (or creates) the workspace and project a new resource belongs to. */
export async function resolveOwnership(orgId: string, input: OwnershipInput): Promise<Ownership> {
	const noWs = !input.workspace_id && !input.workspace_slug && !input.workspace_name && !input.external_workspace_id;
	const noProject = !input.project_id && !input.project_slug && !input.project_name && !input.external_project_id;
	if (noWs && noProject) return { ...(await defaultOwnership(orgId)), externalUserId: input.external_user_id ?? null };

	let ws: Workspace;
	if (input.project_id && noWs) {
		const row = await getProject(orgId, input.project_id);
		return { workspace: row.workspace, project: row.project, externalUserId: input.external_user_id ?? null };
	}
	ws = await resolveWorkspace(orgId, input, { create: true });
	let p: Project;
	if (input.project_id) {
		const row = await getProject(orgId, input.project_id);
		if (row.project.workspaceId !== ws.id) throw new ApiError(422, 'VALIDATION_ERROR', 'project_id belongs to another workspace', { fields: { project_id: ['not in the workspace'] } });
		p = row.project;
	} else if (noProject) {
		p = await defaultProject(ws);
	} else {
		const cond = input.external_project_id
			? eq(project.externalProjectId, input.external_project_id)
			: input.project_slug
				? eq(project.slug, input.project_slug)
				: eq(project.name, input.project_name!);
		const find = async () =>
			(await db.select().from(project).where(and(eq(project.workspaceId, ws.id), cond)).orderBy(asc(project.createdAt)).limit(1))[0];
		p = await find();
		if (!p) {
			const name = input.project_name ?? input.project_slug ?? input.external_project_id!;
			await db
				.insert(project)
				.values({
					organizationId: orgId,
					workspaceId: ws.id,
					name,
					slug: input.project_slug ?? `${slugify(name)}-${slugSuffix()}`,
					externalProjectId: input.external_project_id ?? null
				})
				.onConflictDoNothing();
			p = await find();
			if (!p) throw conflict('could not create the project (slug taken)');
		}
	}
	return { workspace: ws, project: p, externalUserId: input.external_user_id ?? null };
}
