import type { PageServerLoad } from './$types';
import { error } from '@sveltejs/kit';
import { computerDto, getComputer } from '$lib/server/computers/service';
import { eventsAfter } from '$lib/server/events/service';
import { isUuid } from '$lib/server/http/validate';
import { requirePrincipal } from '../../dashboard.server';

export const load: PageServerLoad = async (event) => {
	const principal = requirePrincipal(event);
	if (!isUuid(event.params.id)) error(404, 'computer not found');
	const c = await getComputer(principal.organizationId, event.params.id).catch(() => null);
	if (!c) error(404, 'computer not found');
	const events = await eventsAfter(principal.organizationId, 0, { resourceId: c.id, limit: 500 });
	return { computer: await computerDto(c), events: events.slice(-200) };
};
