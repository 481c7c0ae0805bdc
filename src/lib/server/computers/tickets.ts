import { z } from 'zod';
import type { Principal } from '../auth/principal';
import type { Computer } from '../db/schema';
import { mintTicket, redeemTicket } from '../tickets/service';

export const streamTokenSchema = z.object({
	read_only: z.boolean().optional(),
	readOnly: z.boolean().optional(),
	/** Seconds (default 3600, max 86400). */
	expires_in: z.number().int().min(5).max(86_400).optional(),
	ttl_seconds: z.number().int().min(5).max(86_400).optional()
});

/**
 * A stream token: a single-use 'desktop' ticket. Open `url` (the embed page, which redeems it) or
 * use `token` directly on `ws_url` (/ws/desktop?ticket=…).
 */
export async function issueStreamToken(p: Principal, c: Computer, origin: string, input: z.infer<typeof streamTokenSchema>) {
	const readOnly = input.read_only ?? input.readOnly ?? false;
	const ttl = input.expires_in ?? input.ttl_seconds ?? 3600;
	const until = new Date(Date.now() + ttl * 1000).toISOString();
	const { ticket, expiresAt } = await mintTicket(p, 'desktop', { ttlSec: ttl, resourceId: c.id, extra: { read_only: readOnly, until } });
	const q = `ticket=${encodeURIComponent(ticket)}`;
	const wsOrigin = origin.replace(/^http/, 'ws');
	return {
		token: ticket,
		ticket,
		url: `${origin}/embed/computers/${c.id}?${q}`,
		embed_url: `${origin}/embed/computers/${c.id}?${q}`,
		ws_url: `${wsOrigin}/ws/desktop?${q}`,
		read_only: readOnly,
		expires_at: expiresAt.toISOString(),
		computer_id: c.id
	};
}

/**
 * After an embed page redeemed its stream token: a WebSocket ticket (60 s) plus a refresh ticket
 * (valid until the stream token would have expired) the page trades for the next pair on reconnect.
 */
export async function issueEmbedTickets(p: Principal, computerId: string, readOnly: boolean, refreshUntil: Date) {
	const ws = await mintTicket(p, 'desktop', { ttlSec: 60, resourceId: computerId, extra: { read_only: readOnly } });
	const ttl = Math.max(5, Math.round((refreshUntil.getTime() - Date.now()) / 1000));
	const refresh = await mintTicket(p, 'desktop', { ttlSec: ttl, resourceId: computerId, extra: { read_only: readOnly, refresh: true, until: refreshUntil.toISOString() } });
	return { ws_ticket: ws.ticket, refresh_ticket: refresh.ticket, expires_at: refreshUntil.toISOString() };
}

/** Redeems a stream token (or a refresh ticket) for an embed page; null when invalid, used or expired. */
export async function redeemEmbed(raw: string | null, computerId: string, wantRefresh: boolean) {
	const t = raw ? await redeemTicket(raw, 'desktop') : null;
	if (!t || t.resourceId !== computerId || !!t.extra?.refresh !== wantRefresh) return null;
	const until = typeof t.extra?.until === 'string' ? new Date(t.extra.until) : new Date(Date.now() + 3600_000);
	const { extra: _extra, ...principal } = t;
	return { principal: principal as Principal, readOnly: t.extra?.read_only === true, until };
}
