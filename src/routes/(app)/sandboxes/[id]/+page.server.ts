import { error, type RequestEvent } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import {
	destroySandbox,
	extendSandbox,
	getSandbox,
	pauseSandbox,
	resumeSandbox,
	timeoutRemainingMs,
	toSandboxDto,
	type Actor
} from '$lib/server/sandboxes/service';
import { MAX_TIMEOUT_SEC } from '$lib/server/sandboxes/schemas';
import { findTemplate } from '$lib/server/sandboxes/templates';
import { getHost } from '$lib/server/hosts/service';
import { ApiError } from '$lib/server/http/errors';
import { isUuid } from '$lib/server/http/validate';
import type { Sandbox } from '$lib/server/db/schema';
import type { SandboxView } from '$lib/components/sandbox/types';
import { failFrom, invalid, requirePrincipal, text } from '../../dashboard.server';

/** The sandbox of the URL; unknown (or another organization's) ids are a 404 page. */
async function sandboxOf(orgId: string, id: string): Promise<Sandbox> {
	if (!isUuid(id)) error(404, 'Sandbox not found');
	return getSandbox(orgId, id.toLowerCase()).catch((err) => {
		if (err instanceof ApiError && err.status === 404) error(404, 'Sandbox not found');
		throw err;
	});
}

export const load: PageServerLoad = async (event) => {
	event.depends('app:sandbox');
	const principal = requirePrincipal(event);
	const row = await sandboxOf(principal.organizationId, event.params.id);
	const host = row.hostId ? await getHost(principal.organizationId, row.hostId).catch(() => null) : null;
	const sandbox: SandboxView = {
		...toSandboxDto(row),
		template_name: findTemplate(row.templateId)?.name ?? row.templateId,
		host_name: host?.name ?? null
	};
	return { sandbox, now: Date.now() };
};

/** Runs a lifecycle action on the page's sandbox; service errors become the form's message. */
async function act<F extends string>(event: RequestEvent, form: F, run: (actor: Actor, row: Sandbox, data: FormData) => Promise<unknown>) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const row = await sandboxOf(principal.organizationId, event.params.id ?? '');
	try {
		await run({ principal, requestId: event.locals.requestId, ip: event.locals.ip }, row, data);
		return { form };
	} catch (err) {
		return failFrom(err, form, {});
	}
}

export const actions: Actions = {
	pause: (event) => act(event, 'pause', (actor, row) => pauseSandbox(actor, row)),
	resume: (event) => act(event, 'resume', (actor, row) => resumeSandbox(actor, row)),

	/** Adds `minutes` to the time left (the service sets the deadline to now + seconds). */
	extend: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const minutes = (text(data, 'minutes') ?? '').trim();
		const values = { minutes };
		const n = Number(minutes);
		if (!/^\d+$/.test(minutes) || n < 1 || n * 60 > MAX_TIMEOUT_SEC) {
			return invalid('extend', { minutes: [`Whole minutes, 1 to ${MAX_TIMEOUT_SEC / 60}.`] }, values);
		}
		const row = await sandboxOf(principal.organizationId, event.params.id ?? '');
		const left = Math.ceil((timeoutRemainingMs(row) ?? 0) / 1000);
		try {
			await extendSandbox({ principal, requestId: event.locals.requestId, ip: event.locals.ip }, row, Math.min(MAX_TIMEOUT_SEC, left + n * 60));
			return { form: 'extend' as const, minutes: n };
		} catch (err) {
			return failFrom(err, 'extend', values);
		}
	},

	delete: (event) => act(event, 'delete', (actor, row) => destroySandbox(actor, row))
};
