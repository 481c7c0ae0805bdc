// The credit ledger: append-only rows per organization (grant, purchase, spend, expiry,
// adjustment) in integer micro-units, and a cached balance updated in the same transaction as
// each row while the balance row is locked (SELECT … FOR UPDATE), so concurrent writers on any
// replica serialise per organization. `verifyBalance` recomputes the balance from the ledger.
import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { db, type Db } from '../db';
import { creditBalance, creditTransaction, type CreditTransaction } from '../db/schema';
import { env } from '../env';
import type { Page } from '../http/pagination';
import { MICRO, nextExpiry, replayLots, toCredits, toMicro, type LedgerEntry } from './math';

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

export const CREDIT_KINDS = ['grant', 'purchase', 'spend', 'expiry', 'adjustment'] as const;
export type CreditKind = (typeof CREDIT_KINDS)[number];

export interface PostInput {
	organizationId: string;
	kind: CreditKind;
	/** Signed amount in micro-units (ignored when setBalanceMicro is given). */
	amountMicro: number;
	/** Adjust so that the balance becomes exactly this (an `adjustment`). */
	setBalanceMicro?: number;
	description?: string | null;
	/** Idempotency: a second post with the same reference returns the first row. */
	reference?: string | null;
	/** Grants and purchases: undefined = the configured expiry (180 days), null = never. */
	expiresAt?: Date | null;
	createdBy?: string | null;
	metadata?: Record<string, unknown>;
}

export interface PostResult {
	txn: CreditTransaction;
	created: boolean;
	balanceMicro: number;
}

const defaultExpiry = (from: Date) => new Date(from.getTime() + env.HANGAR_CREDIT_EXPIRY_DAYS * 86_400_000);

async function insertRow(tx: Tx, balanceMicro: number, input: PostInput, amountMicro: number): Promise<PostResult> {
	const now = new Date();
	const credit = amountMicro > 0 && (input.kind === 'grant' || input.kind === 'purchase');
	const after = balanceMicro + amountMicro;
	const [txn] = await tx
		.insert(creditTransaction)
		.values({
			organizationId: input.organizationId,
			kind: input.kind,
			amountMicro,
			balanceAfterMicro: after,
			description: input.description ?? null,
			reference: input.reference ?? null,
			expiresAt: credit ? (input.expiresAt === undefined ? defaultExpiry(now) : input.expiresAt) : null,
			createdBy: input.createdBy ?? null,
			metadata: input.metadata ?? {},
			createdAt: now
		})
		.returning();
	await tx
		.update(creditBalance)
		.set({ balanceMicro: after, lastTransactionId: txn.id, updatedAt: now })
		.where(eq(creditBalance.organizationId, input.organizationId));
	return { txn, created: true, balanceMicro: after };
}

/**
 * Locks the organization's balance row for the rest of the transaction, creating it (with the
 * starting grant, exactly once: reference `starting_grant`) the first time.
 */
export async function lockAccount(tx: Tx, organizationId: string) {
	const created = await tx.insert(creditBalance).values({ organizationId }).onConflictDoNothing().returning({ id: creditBalance.organizationId });
	const [row] = await tx.select().from(creditBalance).where(eq(creditBalance.organizationId, organizationId)).for('update');
	if (created.length && env.HANGAR_STARTING_CREDITS > 0) {
		const [dupe] = await tx
			.select({ id: creditTransaction.id })
			.from(creditTransaction)
			.where(and(eq(creditTransaction.organizationId, organizationId), eq(creditTransaction.reference, 'starting_grant')));
		if (!dupe) {
			const r = await insertRow(tx, row.balanceMicro, { organizationId, kind: 'grant', amountMicro: toMicro(env.HANGAR_STARTING_CREDITS), description: 'Starting credits', reference: 'starting_grant' }, toMicro(env.HANGAR_STARTING_CREDITS));
			row.balanceMicro = r.balanceMicro;
			row.lastTransactionId = r.txn.id;
		}
	}
	return row;
}

/** Posts one ledger row inside an open transaction (the caller's). */
export async function postIn(tx: Tx, input: PostInput): Promise<PostResult> {
	const bal = await lockAccount(tx, input.organizationId);
	if (input.reference) {
		const [existing] = await tx
			.select()
			.from(creditTransaction)
			.where(and(eq(creditTransaction.organizationId, input.organizationId), eq(creditTransaction.reference, input.reference)));
		if (existing) return { txn: existing, created: false, balanceMicro: bal.balanceMicro };
	}
	const amount = input.setBalanceMicro !== undefined ? input.setBalanceMicro - bal.balanceMicro : input.amountMicro;
	return insertRow(tx, bal.balanceMicro, input, Math.round(amount));
}

/** Posts one ledger row in its own transaction. */
export function postTransaction(input: PostInput): Promise<PostResult> {
	return db.transaction((tx) => postIn(tx, input));
}

/** Opens the organization's account (with its starting grant) if it has none; used by sign-up. */
export async function openAccount(tx: Tx, organizationId: string): Promise<void> {
	await lockAccount(tx, organizationId);
}

/** The cached balance row, created lazily (with the starting grant) for organizations from before billing. */
export async function balanceRow(organizationId: string) {
	const [row] = await db.select().from(creditBalance).where(eq(creditBalance.organizationId, organizationId));
	if (row) return row;
	return db.transaction((tx) => lockAccount(tx, organizationId));
}

/** Lifetime sums and the date the soonest credits expire. */
export async function balanceDetails(organizationId: string) {
	const row = await balanceRow(organizationId);
	const sums = await db
		.select({ kind: creditTransaction.kind, positive: sql<number>`coalesce(sum(case when ${creditTransaction.amountMicro} > 0 then ${creditTransaction.amountMicro} else 0 end), 0)`.mapWith(Number), negative: sql<number>`coalesce(sum(case when ${creditTransaction.amountMicro} < 0 then ${creditTransaction.amountMicro} else 0 end), 0)`.mapWith(Number) })
		.from(creditTransaction)
		.where(eq(creditTransaction.organizationId, organizationId))
		.groupBy(creditTransaction.kind);
	const by = (k: string) => sums.find((s) => s.kind === k);
	const earned = sums.reduce((s, r) => s + (r.kind === 'spend' || r.kind === 'expiry' ? 0 : r.positive), 0);
	const spent = -(by('spend')?.negative ?? 0) - (by('adjustment')?.negative ?? 0);
	const expired = -(by('expiry')?.negative ?? 0);
	return { row, earned, spent, expired, expiresAt: await expiryOfBalance(organizationId, row.balanceMicro) };
}

/**
 * When the soonest credits of the balance expire. Debits use the soonest-expiring credits first,
 * so what is left is held by the latest-expiring lots: walk them from the latest back until they
 * cover the balance (exact when expiry follows creation order, as with the default expiry).
 */
async function expiryOfBalance(organizationId: string, balanceMicro: number): Promise<Date | null> {
	if (balanceMicro <= 0) return null;
	const now = new Date();
	const lots = await db
		.select({ amount: creditTransaction.amountMicro, expiresAt: creditTransaction.expiresAt })
		.from(creditTransaction)
		.where(and(eq(creditTransaction.organizationId, organizationId), gt(creditTransaction.amountMicro, 0), sql`(${creditTransaction.expiresAt} is null or ${creditTransaction.expiresAt} > ${now.toISOString()}::timestamptz)`))
		.orderBy(sql`${creditTransaction.expiresAt} desc nulls first`, desc(creditTransaction.id))
		.limit(10_000);
	let covered = 0;
	let soonest: Date | null = null;
	for (const l of lots) {
		if (covered >= balanceMicro) break;
		covered += l.amount;
		if (l.expiresAt) soonest = l.expiresAt;
	}
	return soonest;
}

/** Recomputes the balance from the ledger and compares it with the cached one. */
export async function verifyBalance(organizationId: string, repair = false) {
	const row = await balanceRow(organizationId);
	const [{ sum, n }] = await db
		.select({ sum: sql<number>`coalesce(sum(${creditTransaction.amountMicro}), 0)`.mapWith(Number), n: count() })
		.from(creditTransaction)
		.where(eq(creditTransaction.organizationId, organizationId));
	const [last] = await db
		.select({ after: creditTransaction.balanceAfterMicro })
		.from(creditTransaction)
		.where(eq(creditTransaction.organizationId, organizationId))
		.orderBy(desc(creditTransaction.id))
		.limit(1);
	const consistent = sum === row.balanceMicro && (last?.after ?? 0) === row.balanceMicro;
	if (!consistent && repair) {
		await db.transaction(async (tx) => {
			await lockAccount(tx, organizationId);
			const [{ s }] = await tx.select({ s: sql<number>`coalesce(sum(${creditTransaction.amountMicro}), 0)`.mapWith(Number) }).from(creditTransaction).where(eq(creditTransaction.organizationId, organizationId));
			await tx.update(creditBalance).set({ balanceMicro: s, updatedAt: new Date() }).where(eq(creditBalance.organizationId, organizationId));
		});
	}
	return { consistent, cachedMicro: row.balanceMicro, ledgerMicro: sum, transactions: n };
}

// ------------------------------------------------------------------------------------------
// Listing

export interface TxnFilter {
	kinds?: string[];
	type?: 'credit' | 'debit';
	from?: Date;
	to?: Date;
}

function txnWhere(organizationId: string, f: TxnFilter): SQL {
	const where: SQL[] = [eq(creditTransaction.organizationId, organizationId)];
	if (f.kinds?.length) where.push(inArray(creditTransaction.kind, f.kinds));
	if (f.type === 'credit') where.push(gte(creditTransaction.amountMicro, 0));
	if (f.type === 'debit') where.push(lt(creditTransaction.amountMicro, 0));
	if (f.from) where.push(gte(creditTransaction.createdAt, f.from));
	if (f.to) where.push(lt(creditTransaction.createdAt, f.to));
	return and(...where)!;
}

export async function listTransactions(organizationId: string, page: Page, f: TxnFilter = {}) {
	const where = txnWhere(organizationId, f);
	const [rows, [{ n }]] = await Promise.all([
		db.select().from(creditTransaction).where(where).orderBy(desc(creditTransaction.id)).limit(page.pageSize).offset(page.offset),
		db.select({ n: count() }).from(creditTransaction).where(where)
	]);
	return { rows, total: n };
}

/** Every matching row, oldest first, in batches (CSV export). */
export async function* allTransactions(organizationId: string, f: TxnFilter = {}) {
	let after = 0;
	for (;;) {
		const rows = await db
			.select()
			.from(creditTransaction)
			.where(and(txnWhere(organizationId, f), gt(creditTransaction.id, after)))
			.orderBy(asc(creditTransaction.id))
			.limit(1000);
		if (!rows.length) return;
		yield rows;
		after = rows[rows.length - 1].id;
	}
}

export function toTransactionDto(t: CreditTransaction) {
	return {
		id: String(t.id),
		tenant_id: t.organizationId,
		organization_id: t.organizationId,
		kind: t.kind,
		type: t.amountMicro >= 0 ? ('credit' as const) : ('debit' as const),
		amount: toCredits(t.amountMicro),
		amount_credits: toCredits(t.amountMicro),
		amount_micro: t.amountMicro,
		balance_after: toCredits(t.balanceAfterMicro),
		balance_after_micro: t.balanceAfterMicro,
		description: t.description,
		reference: t.reference,
		expires_at: t.expiresAt?.toISOString() ?? null,
		user_id: t.createdBy,
		created_by: t.createdBy,
		metadata: t.metadata,
		created_at: t.createdAt.toISOString(),
		inserted_at: t.createdAt.toISOString()
	};
}

const CSV_COLUMNS = ['id', 'created_at', 'kind', 'type', 'amount_credits', 'balance_after_credits', 'description', 'reference', 'expires_at', 'created_by'] as const;

function csvCell(v: unknown): string {
	const s = v === null || v === undefined ? '' : String(v);
	// Quote when needed; neutralise spreadsheet formulas.
	const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
	return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The ledger as CSV (streamed), oldest first. */
export function transactionsCsv(organizationId: string, f: TxnFilter = {}): ReadableStream<Uint8Array> {
	const enc = new TextEncoder();
	const it = allTransactions(organizationId, f);
	let header = false;
	return new ReadableStream({
		async pull(controller) {
			if (!header) {
				header = true;
				controller.enqueue(enc.encode(CSV_COLUMNS.join(',') + '\n'));
				return;
			}
			const { value, done } = await it.next();
			if (done) return controller.close();
			const lines = value.map((t) =>
				[t.id, t.createdAt.toISOString(), t.kind, t.amountMicro >= 0 ? 'credit' : 'debit', (t.amountMicro / MICRO).toFixed(6), (t.balanceAfterMicro / MICRO).toFixed(6), t.description, t.reference, t.expiresAt?.toISOString(), t.createdBy]
					.map(csvCell)
					.join(',')
			);
			controller.enqueue(enc.encode(lines.join('\n') + '\n'));
		}
	});
}

// ------------------------------------------------------------------------------------------
// Expiry: what is left of a grant or purchase 180 days on is taken back (reference expiry:<id>).

const noRemainder = new Set<number>();

/** Posts expiries for lots that have expired; returns how many were posted. */
export async function expireCredits(now = new Date()): Promise<number> {
	const due = await db
		.select({ id: creditTransaction.id, organizationId: creditTransaction.organizationId, expiresAt: creditTransaction.expiresAt })
		.from(creditTransaction)
		.where(
			and(
				isNotNull(creditTransaction.expiresAt),
				lte(creditTransaction.expiresAt, now),
				gt(creditTransaction.amountMicro, 0),
				sql`not exists (select 1 from ${creditTransaction} e where e.organization_id = ${creditTransaction.organizationId} and e.reference = 'expiry:' || ${creditTransaction.id}::text)`
			)
		)
		.orderBy(asc(creditTransaction.expiresAt))
		.limit(200);
	let posted = 0;
	for (const lot of due) {
		if (noRemainder.has(lot.id)) continue;
		const done = await db.transaction(async (tx) => {
			await lockAccount(tx, lot.organizationId);
			const entries: LedgerEntry[] = await tx
				.select({ id: creditTransaction.id, kind: creditTransaction.kind, amountMicro: creditTransaction.amountMicro, expiresAt: creditTransaction.expiresAt, reference: creditTransaction.reference, createdAt: creditTransaction.createdAt })
				.from(creditTransaction)
				.where(and(eq(creditTransaction.organizationId, lot.organizationId), lte(creditTransaction.createdAt, lot.expiresAt!)))
				.orderBy(asc(creditTransaction.id));
			// Expiries posted after the lot's expiry time still count (they empty other lots).
			const later = await tx
				.select({ id: creditTransaction.id, kind: creditTransaction.kind, amountMicro: creditTransaction.amountMicro, expiresAt: creditTransaction.expiresAt, reference: creditTransaction.reference, createdAt: creditTransaction.createdAt })
				.from(creditTransaction)
				.where(and(eq(creditTransaction.organizationId, lot.organizationId), eq(creditTransaction.kind, 'expiry'), gt(creditTransaction.createdAt, lot.expiresAt!)));
			const { lots } = replayLots([...entries, ...later]);
			const remaining = lots.find((l) => l.id === lot.id)?.remaining ?? 0;
			if (remaining <= 0) return false;
			await postIn(tx, {
				organizationId: lot.organizationId,
				kind: 'expiry',
				amountMicro: -remaining,
				reference: `expiry:${lot.id}`,
				description: `Unused credits expired (${env.HANGAR_CREDIT_EXPIRY_DAYS} days)`,
				metadata: { lot_id: String(lot.id), expired_at: lot.expiresAt!.toISOString() }
			});
			return true;
		});
		if (done) posted++;
		else noRemainder.add(lot.id);
	}
	return posted;
}

export { nextExpiry };

/** `GET /credits/balance`, bare: the SDK's `{balance, expires_at}` plus the docs' fields. */
export async function balanceDto(organizationId: string) {
	const d = await balanceDetails(organizationId);
	const expires = d.expiresAt?.toISOString() ?? null;
	return {
		tenant_id: organizationId,
		organization_id: organizationId,
		balance: toCredits(d.row.balanceMicro),
		balance_credits: toCredits(d.row.balanceMicro),
		balance_micro: d.row.balanceMicro,
		expires_at: expires,
		credit_expiry_at: expires,
		lifetime_earned: toCredits(d.earned),
		lifetime_spent: toCredits(d.spent),
		lifetime_expired: toCredits(d.expired),
		exhausted: d.row.exhaustedAt !== null || d.row.balanceMicro <= 0,
		exhausted_at: d.row.exhaustedAt?.toISOString() ?? null,
		currency: 'credits',
		updated_at: d.row.updatedAt.toISOString()
	};
}
