import type { PageServerLoad } from './$types';
import type { Deployment, Page, Version } from '$lib/components/deployments/types';
import { requirePrincipal } from '../dashboard.server';
import { apiGet } from './api.server';

/** The organization's deployments, newest first, 50 a page (`?cursor=` for the next). */
export const load: PageServerLoad = async (event) => {
	event.depends('app:deployments');
	requirePrincipal(event);
	const cursor = event.url.searchParams.get('cursor');
	const query = new URLSearchParams({ limit: '50' });
	if (cursor) query.set('cursor', cursor);
	const page = await apiGet<Page<Deployment>>(event.fetch, `/deployments?${query}`);
	// The list shows the active version's number; the deployment carries only its id.
	const deployments = await Promise.all(
		page.data.map(async (d) => {
			if (d.active_version_number != null || !d.active_version_id) return d;
			const v = await apiGet<{ data: Version }>(event.fetch, `/deployments/${d.id}/versions/${d.active_version_id}`).catch(() => null);
			return { ...d, active_version_number: v?.data.version_number ?? null };
		})
	);
	return { deployments, nextCursor: page.next_cursor ?? null, cursor, now: Date.now() };
};
