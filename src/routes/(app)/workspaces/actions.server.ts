// Form actions for workspaces and projects, shared by /workspaces and /workspaces/[id].
import { redirect, type RequestEvent } from '@sveltejs/kit';
import { z } from 'zod';
import {
	createProject,
	createWorkspace,
	deleteProject,
	deleteWorkspace,
	projectCreateSchema,
	updateProject,
	updateWorkspace,
	workspaceCreateSchema
} from '$lib/server/workspaces/service';
import { audit } from '$lib/server/audit/service';
import { isUuid } from '$lib/server/http/validate';
import { actorOf, failFrom, invalid, parseForm, requirePrincipal, text, WORKSPACE_COOKIE } from '../dashboard.server';

const renameSchema = z.object({ name: z.string().trim().min(1).max(100) });

/** The id of the row an action targets; a malformed one reads as "not found". */
function idOf(data: FormData): string {
	const id = String(data.get('id') ?? '');
	return isUuid(id) ? id.toLowerCase() : '00000000-0000-0000-0000-000000000000';
}

export async function createWorkspaceAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const values = { name: text(data, 'name') ?? '', slug: text(data, 'slug') ?? '', description: text(data, 'description') ?? '' };
	const parsed = parseForm(workspaceCreateSchema, {
		name: values.name,
		slug: text(data, 'slug'),
		description: text(data, 'description')
	});
	if (!parsed.ok) return invalid('createWorkspace', parsed.fieldErrors, values);
	try {
		const w = await createWorkspace(principal.organizationId, parsed.data);
		await audit(actorOf(event), { action: 'workspace.created', resourceType: 'workspace', resourceId: w.id, workspaceId: w.id });
		return { form: 'createWorkspace' as const, created: { id: w.id, name: w.name } };
	} catch (err) {
		return failFrom(err, 'createWorkspace', values);
	}
}

export async function renameWorkspaceAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = idOf(data);
	const values = { id, name: text(data, 'name') ?? '' };
	const parsed = parseForm(renameSchema, { name: values.name });
	if (!parsed.ok) return invalid('renameWorkspace', parsed.fieldErrors, values);
	try {
		await updateWorkspace(principal.organizationId, id, parsed.data);
		await audit(actorOf(event), {
			action: 'workspace.updated',
			resourceType: 'workspace',
			resourceId: id,
			workspaceId: id,
			metadata: { fields: ['name'] }
		});
		return { form: 'renameWorkspace' as const, id };
	} catch (err) {
		return failFrom(err, 'renameWorkspace', values);
	}
}

/** Deletes a workspace with its projects; `then` is where to go afterwards (none: stay). */
export async function deleteWorkspaceAction(event: RequestEvent, then?: string) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = idOf(data);
	try {
		const w = await deleteWorkspace(principal.organizationId, id);
		await audit(actorOf(event), { action: 'workspace.deleted', resourceType: 'workspace', resourceId: w.id });
		if (event.cookies.get(WORKSPACE_COOKIE) === w.id) event.cookies.delete(WORKSPACE_COOKIE, { path: '/' });
	} catch (err) {
		return failFrom(err, 'deleteWorkspace', { id });
	}
	if (then) redirect(303, then);
	return { form: 'deleteWorkspace' as const, id };
}

export async function createProjectAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const values = {
		workspace_id: text(data, 'workspace_id') ?? '',
		name: text(data, 'name') ?? '',
		slug: text(data, 'slug') ?? '',
		description: text(data, 'description') ?? ''
	};
	const parsed = parseForm(projectCreateSchema, {
		workspace_id: text(data, 'workspace_id'),
		name: values.name,
		slug: text(data, 'slug'),
		description: text(data, 'description')
	});
	if (!parsed.ok) return invalid('createProject', parsed.fieldErrors, values);
	try {
		const { project, workspace } = await createProject(principal.organizationId, parsed.data);
		await audit(actorOf(event), { action: 'project.created', resourceType: 'project', resourceId: project.id, workspaceId: workspace.id });
		return { form: 'createProject' as const, created: { id: project.id, name: project.name } };
	} catch (err) {
		return failFrom(err, 'createProject', values);
	}
}

export async function renameProjectAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = idOf(data);
	const values = { id, name: text(data, 'name') ?? '' };
	const parsed = parseForm(renameSchema, { name: values.name });
	if (!parsed.ok) return invalid('renameProject', parsed.fieldErrors, values);
	try {
		const { workspace } = await updateProject(principal.organizationId, id, parsed.data);
		await audit(actorOf(event), {
			action: 'project.updated',
			resourceType: 'project',
			resourceId: id,
			workspaceId: workspace.id,
			metadata: { fields: ['name'] }
		});
		return { form: 'renameProject' as const, id };
	} catch (err) {
		return failFrom(err, 'renameProject', values);
	}
}

export async function deleteProjectAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = idOf(data);
	try {
		const p = await deleteProject(principal.organizationId, id);
		await audit(actorOf(event), { action: 'project.deleted', resourceType: 'project', resourceId: p.id, workspaceId: p.workspaceId });
		return { form: 'deleteProject' as const, id };
	} catch (err) {
		return failFrom(err, 'deleteProject', { id });
	}
}
