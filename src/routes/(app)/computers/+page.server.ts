import type { PageServerLoad } from './$types';
import { COMPUTER_SIZES, listComputers } from '$lib/server/computers/service';
import { pageOf, requirePrincipal } from '../dashboard.server';

export const load: PageServerLoad = async (event) => {
	event.depends('app:computers');
	const principal = requirePrincipal(event);
	const page = pageOf(event.url);
	const { items, total } = await listComputers(principal.organizationId, page, {});
	return { computers: items, total, page: page.page, pageSize: page.pageSize, sizes: Object.entries(COMPUTER_SIZES).map(([name, s]) => ({ name, ...s })) };
};
