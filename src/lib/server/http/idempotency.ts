import { and, eq, lt } from 'drizzle-orm';
import { db } from '../db';
import { idempotencyRecord } from '../db/schema';
import { sha256Hex } from '../auth/crypto';
import { seal, unseal } from '../secrets';
import { ApiError } from './errors';

const TTL_MS = 24 * 3600_000;

export type Claim =
	| { kind: 'fresh'; id: string }
	| { kind: 'replay'; response: Response };

/**
 * Claims an Idempotency-Key for a principal. Same key + same request → the stored response;
 * same key + another request → 409; a first request still running → 409 with Retry-After.
 * Stored in the database, so it holds across restarts and replicas.
 */
export async function claimKey(scope: string, key: string, method: string, path: string, body: string): Promise<Claim> {
	if (key.length > 255) throw new ApiError(422, 'VALIDATION_ERROR', 'Idempotency-Key is too long (max 255)');
	const id = sha256Hex(`${scope}\n${key}`);
	const requestHash = sha256Hex(`${method}\n${path}\n${body}`);
	const now = new Date();
	const inserted = await db
		.insert(idempotencyRecord)
		.values({ id, requestHash, method, path, expiresAt: new Date(now.getTime() + TTL_MS) })
		.onConflictDoNothing()
		.returning({ id: idempotencyRecord.id });
	if (inserted.length) return { kind: 'fresh', id };

	const [row] = await db.select().from(idempotencyRecord).where(eq(idempotencyRecord.id, id));
	if (!row) return claimKey(scope, key, method, path, body);
	if (row.expiresAt.getTime() <= now.getTime()) {
		await db.delete(idempotencyRecord).where(and(eq(idempotencyRecord.id, id), lt(idempotencyRecord.expiresAt, now)));
		return claimKey(scope, key, method, path, body);
	}
	if (row.requestHash !== requestHash) {
		throw new ApiError(409, 'IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was already used with a different request');
	}
	if (row.status === null || row.responseBody === null) {
		throw new ApiError(409, 'IDEMPOTENCY_CONFLICT', 'a request with this Idempotency-Key is still in progress', undefined, {
			'retry-after': '1'
		});
	}
	const headers = new Headers(row.responseHeaders ?? {});
	headers.set('idempotent-replayed', 'true');
	return { kind: 'replay', response: new Response(unseal(row.responseBody), { status: row.status, headers }) };
}

/** Stores the response of a claimed key; 5xx answers release the key so a retry runs again. */
export async function completeKey(id: string, response: Response): Promise<Response> {
	const type = response.headers.get('content-type') ?? '';
	if (response.status >= 500 || !response.body || type.includes('event-stream') || !type.includes('json')) {
		if (response.status >= 500 || type.includes('event-stream')) await releaseKey(id);
		else await storeKey(id, response.status, type, '');
		return response;
	}
	const text = await response.text();
	await storeKey(id, response.status, type, text);
	return new Response(text, { status: response.status, headers: response.headers });
}

async function storeKey(id: string, status: number, type: string, body: string) {
	await db
		.update(idempotencyRecord)
		.set({ status, responseHeaders: type ? { 'content-type': type } : {}, responseBody: seal(body) })
		.where(eq(idempotencyRecord.id, id));
}

export async function releaseKey(id: string): Promise<void> {
	await db.delete(idempotencyRecord).where(eq(idempotencyRecord.id, id));
}

export async function purgeExpiredKeys(): Promise<void> {
	await db.delete(idempotencyRecord).where(lt(idempotencyRecord.expiresAt, new Date()));
}
