import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { getComputer, requireRunning } from '$lib/server/computers/service';
import { issueEmbedTickets, redeemEmbed } from '$lib/server/computers/tickets';
import { isUuid } from '$lib/server/http/validate';

/**
 * /embed/computers/{id}?ticket=dtk_… — the live desktop, full window, for iframes (hooks leave
 * /embed/ frameable). The stream token (POST /computers/{id}/stream-token) is single-use: this page
 * redeems it, so a reload or an expired token answers 401. The page then gets a WebSocket ticket
 * plus a refresh ticket it trades for the next pair on reconnect (POST ./ticket).
 */
export const load: PageServerLoad = async ({ params, url, setHeaders }) => {
	setHeaders({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
	if (!isUuid(params.id)) error(404, 'computer not found');
	const r = await redeemEmbed(url.searchParams.get('ticket'), params.id.toLowerCase(), false);
	if (!r) error(401, 'This stream link is invalid, expired or already used. Ask for a new one.');
	const c = await getComputer(r.principal.organizationId, params.id.toLowerCase()).catch(() => null);
	if (!c) error(404, 'computer not found');
	try {
		await requireRunning(c);
	} catch {
		error(409, `The computer is not running.`);
	}
	const t = await issueEmbedTickets(r.principal, c.id, r.readOnly, r.until);
	return { computerId: c.id, name: c.name, readOnly: r.readOnly, ...t };
};
