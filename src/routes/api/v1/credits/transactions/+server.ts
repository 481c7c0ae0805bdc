import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { readPage } from '$lib/server/http/pagination';
import { listTransactions, toTransactionDto, transactionsCsv } from '$lib/server/billing/ledger';
import { txnFilter, txnQuery } from '$lib/server/billing/queries';

/**
 * GET /api/v1/credits/transactions — usage:read. Newest first; `page` + `per_page` (or
 * `page_size`, max 100); filters `kind` (grant,purchase,spend,expiry,adjustment; comma list),
 * `type` (credit|debit), `from`/`to`. Bare `{data:[…], meta:{total,page,per_page}}` (+ the docs'
 * `transactions` and `page`). `format=csv` (or Accept: text/csv) streams every matching row as CSV.
 */
export const GET = api({ scope: 'usage:read' }, async ({ principal, url, request }) => {
	const q = parseQuery(url, txnQuery);
	const filter = txnFilter(q);
	if (q.format === 'csv' || (!q.format && (request.headers.get('accept') ?? '').startsWith('text/csv'))) {
		return new Response(transactionsCsv(principal.organizationId, filter), {
			headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="credit-transactions.csv"' }
		});
	}
	const page = readPage(url);
	const { rows, total } = await listTransactions(principal.organizationId, page, filter);
	const data = rows.map(toTransactionDto);
	return json({ data, transactions: data, meta: { total, page: page.page, per_page: page.pageSize }, page: { page: page.page, page_size: page.pageSize, total } });
});
