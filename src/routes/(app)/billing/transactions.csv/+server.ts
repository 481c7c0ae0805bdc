import { error, type RequestHandler } from '@sveltejs/kit';
import { transactionsCsv } from '$lib/server/billing/ledger';
import { txnFilter } from '$lib/server/billing/queries';
import { ApiError } from '$lib/server/http/errors';

/** GET /billing/transactions.csv?kind=&from=&to= — the organization's ledger as CSV (dashboard session). */
export const GET: RequestHandler = async (event) => {
	const principal = event.locals.principal;
	if (!event.locals.user || !principal) error(401, 'Sign in to export transactions.');
	const q = event.url.searchParams;
	let filter;
	try {
		filter = txnFilter({
			kind: q.get('kind') || undefined,
			type: q.get('type') === 'credit' || q.get('type') === 'debit' ? (q.get('type') as 'credit' | 'debit') : undefined,
			from: validDate(q.get('from')),
			to: validDate(q.get('to'), true)
		});
	} catch (e) {
		if (e instanceof ApiError) error(400, e.message);
		throw e;
	}
	const day = new Date().toISOString().slice(0, 10);
	return new Response(transactionsCsv(principal.organizationId, filter), {
		headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="hangar-transactions-${day}.csv"` }
	});
};

/** A date (YYYY-MM-DD or ISO); a bare `to` date includes that whole day. */
function validDate(v: string | null, endOfDay = false): string | undefined {
	if (!v || Number.isNaN(Date.parse(v))) return undefined;
	if (endOfDay && /^\d{4}-\d{2}-\d{2}$/.test(v)) return new Date(Date.parse(v) + 86_400_000).toISOString();
	return new Date(v).toISOString();
}
