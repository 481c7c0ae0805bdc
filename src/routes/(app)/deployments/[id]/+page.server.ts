import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import type { Deployment, Page, Version } from '$lib/components/deployments/types';
import { requirePrincipal } from '../../dashboard.server';
import { apiGet } from '../api.server';

/** A deployment and its newest versions (50; older ones load in the page). */
export const load: PageServerLoad = async (event) => {
	event.depends('app:deployment');
	requirePrincipal(event);
	const id = event.params.id;
	if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) error(404, 'Deployment not found');
	const [deployment, versions] = await Promise.all([
		apiGet<{ data: Deployment }>(event.fetch, `/deployments/${id}`, 'Deployment not found'),
		apiGet<Page<Version>>(event.fetch, `/deployments/${id}/versions?limit=50`, 'Deployment not found')
	]);
	return { deployment: deployment.data, versions: versions.data, nextCursor: versions.next_cursor ?? null, now: Date.now() };
};
