import type { Actions, PageServerLoad } from './$types';
import { listDeliveries, listWebhooks, toDeliveryDto, toWebhookDto } from '$lib/server/webhooks/service';
import { requirePrincipal } from '../dashboard.server';
import { createWebhookAction, deleteWebhookAction, sendTestAction, setActiveAction } from './actions.server';

export const load: PageServerLoad = async (event) => {
	event.depends('app:webhooks');
	const principal = requirePrincipal(event);
	const rows = await listWebhooks(principal.organizationId);
	// The latest delivery of each, for the list's "last delivery" column.
	const latest = await Promise.all(rows.map((w) => listDeliveries(principal.organizationId, w.id, 1).then((d) => d[0] ?? null)));
	return {
		webhooks: rows.map((w, i) => ({ ...toWebhookDto(w), last_delivery: latest[i] ? toDeliveryDto(latest[i]) : null })),
		now: Date.now()
	};
};

export const actions: Actions = {
	create: createWebhookAction,
	setActive: setActiveAction,
	test: sendTestAction,
	delete: (event) => deleteWebhookAction(event)
};
