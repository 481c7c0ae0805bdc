import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { getComputer, requireRunning } from '$lib/server/computers/service';
import { issueEmbedTickets, redeemEmbed } from '$lib/server/computers/tickets';
import { isUuid } from '$lib/server/http/validate';

/** POST /embed/computers/{id}/ticket `{refresh_ticket}` → `{ws_ticket, refresh_ticket, expires_at}` (401/409). */
export const POST: RequestHandler = async ({ params, request }) => {
	const body = (await request.json().catch(() => ({}))) as { refresh_ticket?: string };
	const id = params.id.toLowerCase();
	const r = isUuid(id) ? await redeemEmbed(body.refresh_ticket ?? null, id, true) : null;
	if (!r) return json({ error: { code: 'invalid_token', message: 'invalid, expired or used refresh ticket' } }, { status: 401 });
	try {
		await requireRunning(await getComputer(r.principal.organizationId, id));
	} catch {
		return json({ error: { code: 'COMPUTER_NOT_RUNNING', message: 'the computer is not running' } }, { status: 409 });
	}
	return json(await issueEmbedTickets(r.principal, id, r.readOnly, r.until));
};
