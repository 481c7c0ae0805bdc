import { redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { createSandbox, listSandboxes, toSandboxDto } from '$lib/server/sandboxes/service';
import { SIZES, sandboxCreateSchema, sizeNames, DEFAULT_TIMEOUT_SEC, MAX_TIMEOUT_SEC } from '$lib/server/sandboxes/schemas';
import { defaultTemplateId, templateCatalog } from '$lib/server/sandboxes/templates';
import { visibleHosts } from '$lib/server/hosts/service';
import { failFrom, invalid, pageOf, parseForm, requirePrincipal, text } from '../dashboard.server';

const STATES = ['provisioning', 'running', 'paused', 'error', 'destroyed'] as const;
type StateFilter = (typeof STATES)[number] | 'live' | 'all';

export const load: PageServerLoad = async (event) => {
	event.depends('app:sandboxes');
	const principal = requirePrincipal(event);
	const page = pageOf(event.url);
	const raw = event.url.searchParams.get('state') ?? '';
	const filter: StateFilter = (STATES as readonly string[]).includes(raw) ? (raw as StateFilter) : raw === 'all' ? 'all' : 'live';
	const [{ rows, total }, hosts] = await Promise.all([
		listSandboxes(principal.organizationId, page, {
			state: filter === 'live' || filter === 'all' ? undefined : filter,
			include_destroyed: filter === 'all' ? 'true' : undefined
		}),
		visibleHosts(principal.organizationId)
	]);
	const hostNames = new Map(hosts.map((h) => [h.id, h.name]));
	return {
		sandboxes: rows.map((r) => ({ ...toSandboxDto(r), host_name: r.hostId ? (hostNames.get(r.hostId) ?? null) : null })),
		total,
		page: page.page,
		pageSize: page.pageSize,
		filter,
		now: Date.now(),
		templates: templateCatalog().map((t) => ({ id: t.id, name: t.name, description: t.description })),
		defaultTemplateId: defaultTemplateId(),
		sizes: sizeNames.map((name) => ({ name, ...SIZES[name] })),
		defaultTimeoutSec: DEFAULT_TIMEOUT_SEC,
		maxTimeoutSec: MAX_TIMEOUT_SEC
	};
};

export const actions: Actions = {
	/** Creates a sandbox and opens its page (it may still be provisioning when the template builds). */
	create: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const values = {
			template_id: text(data, 'template_id') ?? '',
			size: text(data, 'size') ?? '',
			name: text(data, 'name') ?? '',
			workspace_id: text(data, 'workspace_id') ?? '',
			timeout_sec: text(data, 'timeout_sec') ?? '',
			persistent: data.get('persistent') === 'on',
			network: data.get('network') === 'on'
		};
		const timeout = values.timeout_sec.trim();
		if (timeout && !/^\d+$/.test(timeout)) {
			return invalid('create', { timeout_sec: [`Whole seconds, 1 to ${MAX_TIMEOUT_SEC}.`] }, values);
		}
		const parsed = parseForm(sandboxCreateSchema, {
			template_id: values.template_id || undefined,
			size: values.size || undefined,
			name: values.name || undefined,
			workspace_id: values.workspace_id || undefined,
			timeout_sec: timeout ? Number(timeout) : undefined,
			persistent: values.persistent,
			network: values.network
		});
		if (!parsed.ok) return invalid('create', parsed.fieldErrors, values);
		let id: string;
		try {
			const row = await createSandbox({ principal, requestId: event.locals.requestId, ip: event.locals.ip }, parsed.data);
			id = row.id;
		} catch (err) {
			return failFrom(err, 'create', values);
		}
		redirect(303, `/sandboxes/${id}`);
	}
};
