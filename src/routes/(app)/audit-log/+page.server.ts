import { fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { listAudit } from '$lib/server/audit/service';
import { isAdmin, requirePrincipal } from '../dashboard.server';

const CATEGORIES = ['resource', 'security', 'auth'] as const;

function queryOf(params: URLSearchParams) {
	const category = params.get('category') ?? '';
	const limit = Number(params.get('limit'));
	return {
		category: (CATEGORIES as readonly string[]).includes(category) ? category : undefined,
		limit: Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : 50
	};
}

/** Owners and admins only; others get a message, not the entries. */
export const load: PageServerLoad = async (event) => {
	const principal = requirePrincipal(event);
	const q = queryOf(event.url.searchParams);
	if (!isAdmin(principal)) return { allowed: false as const, entries: [], nextCursor: null, category: q.category ?? '', limit: q.limit };
	const page = await listAudit(principal.organizationId, { limit: q.limit, category: q.category });
	return { allowed: true as const, entries: page.data, nextCursor: page.next_cursor, category: q.category ?? '', limit: q.limit };
};

export const actions: Actions = {
	/** "Load more": the page after the cursor, appended by the page. */
	more: async (event) => {
		const principal = requirePrincipal(event);
		if (!isAdmin(principal)) return fail(403, { form: 'more' as const, message: 'Only organization owners and admins can view the audit log.' });
		const data = await event.request.formData();
		const after = Number(data.get('after'));
		const q = queryOf(new URLSearchParams({ category: String(data.get('category') ?? ''), limit: String(data.get('limit') ?? '') }));
		if (!Number.isInteger(after) || after < 1) return fail(400, { form: 'more' as const, message: 'Invalid cursor.' });
		const page = await listAudit(principal.organizationId, { after, limit: q.limit, category: q.category });
		return { form: 'more' as const, entries: page.data, nextCursor: page.next_cursor };
	}
};
