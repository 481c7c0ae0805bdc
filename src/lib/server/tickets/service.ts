import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import { db } from '../db';
import { ticket } from '../db/schema';
import { randomToken, sha256Hex } from '../auth/crypto';
import type { Principal } from '../auth/principal';

export type TicketKind = 'sse' | 'terminal' | 'desktop' | 'exec' | 'file';
const PREFIX: Record<TicketKind, string> = { sse: 'sset_', terminal: 'tkt_', desktop: 'dtk_', exec: 'exec_', file: 'ftk_' };

/** Mints a single-use ticket standing for the principal (for URLs a browser opens). */
export async function mintTicket(
	p: Principal,
	kind: TicketKind,
	opts: { ttlSec?: number; resourceId?: string | null; extra?: Record<string, unknown> } = {}
): Promise<{ ticket: string; expiresAt: Date }> {
	const raw = PREFIX[kind] + randomToken(24);
	const expiresAt = new Date(Date.now() + (opts.ttlSec ?? 60) * 1000);
	await db.insert(ticket).values({
		id: sha256Hex(raw),
		kind,
		organizationId: p.organizationId,
		resourceId: opts.resourceId ?? null,
		principal: { ...p, scopes: [...p.scopes], extra: opts.extra ?? {} },
		expiresAt
	});
	return { ticket: raw, expiresAt };
}

/** Consumes a ticket atomically: a second use, an expired ticket or another kind answers null. */
export async function redeemTicket(
	raw: string,
	kind: TicketKind
): Promise<(Principal & { extra: Record<string, unknown> }) | null> {
	if (!raw.startsWith(PREFIX[kind])) return null;
	const now = new Date();
	const [row] = await db
		.update(ticket)
		.set({ usedAt: now })
		.where(and(eq(ticket.id, sha256Hex(raw)), eq(ticket.kind, kind), isNull(ticket.usedAt), gt(ticket.expiresAt, now)))
		.returning();
	if (!row) return null;
	const p = row.principal as unknown as Principal & { extra: Record<string, unknown> };
	return { ...p, kind: 'ticket', resourceId: row.resourceId, extra: p.extra ?? {} };
}

export async function purgeExpiredTickets(): Promise<void> {
	await db.delete(ticket).where(lt(ticket.expiresAt, new Date(Date.now() - 3600_000)));
}
