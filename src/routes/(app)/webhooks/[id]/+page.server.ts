import { error } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { getWebhook, listDeliveries, toDeliveryDto, toWebhookDto } from '$lib/server/webhooks/service';
import { ApiError } from '$lib/server/http/errors';
import { requirePrincipal } from '../../dashboard.server';
import { deleteWebhookAction, sendTestAction, setActiveAction } from '../actions.server';

export const load: PageServerLoad = async (event) => {
	event.depends('app:webhook');
	const principal = requirePrincipal(event);
	const w = await getWebhook(principal.organizationId, event.params.id).catch((err) => {
		if (err instanceof ApiError && err.status === 404) error(404, 'Webhook not found');
		throw err;
	});
	const deliveries = await listDeliveries(principal.organizationId, w.id, 100);
	return { webhook: toWebhookDto(w), deliveries: deliveries.map(toDeliveryDto), now: Date.now() };
};

export const actions: Actions = {
	setActive: setActiveAction,
	test: sendTestAction,
	delete: (event) => deleteWebhookAction(event, '/webhooks')
};
