import { z } from 'zod';
import { parseQuery } from './validate';

export const pageQuery = z.object({
	page: z.coerce.number().int().min(1).default(1),
	page_size: z.coerce.number().int().min(1).max(100).optional(),
	limit: z.coerce.number().int().min(1).max(100).optional(),
	per_page: z.coerce.number().int().min(1).max(100).optional()
});

export interface Page {
	page: number;
	pageSize: number;
	offset: number;
}

/** page/page_size (default 20, max 100); `limit` and `per_page` are accepted as aliases. */
export function readPage(url: URL): Page {
	const q = parseQuery(url, pageQuery.passthrough());
	const pageSize = q.page_size ?? q.limit ?? q.per_page ?? 20;
	return { page: q.page, pageSize, offset: (q.page - 1) * pageSize };
}

/** The contract's list envelope. */
export function listBody<T>(items: T[], page: Page, total: number) {
	return { data: items, page: { page: page.page, page_size: page.pageSize, total } };
}
