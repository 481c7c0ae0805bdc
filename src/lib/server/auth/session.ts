import { and, eq } from 'drizzle-orm';
import { db } from '../db';
import { session, user, type Session, type User } from '../db/schema';
import { randomToken, sha256Hex } from './crypto';

const DAY = 86_400_000;
export const SESSION_COOKIE = 'hangar_session';
const COOKIE_LIFETIME = 30 * DAY;
const BEARER_LIFETIME = 7 * DAY;
const BEARER_PREFIX = 'hst_';

export const generateSessionToken = () => randomToken(20);

/** Creates a session for a token the client keeps; only its SHA-256 is stored. */
export async function createSession(token: string, userId: string, kind: 'cookie' | 'bearer' = 'cookie'): Promise<Session> {
	const row = {
		id: sha256Hex(token),
		userId,
		kind,
		expiresAt: new Date(Date.now() + (kind === 'cookie' ? COOKIE_LIFETIME : BEARER_LIFETIME)),
		createdAt: new Date()
	};
	await db.insert(session).values(row);
	return row;
}

export type SessionValidation = { session: Session; user: User } | { session: null; user: null };

/** Validates a token; sliding expiry for cookie sessions (extended when past half-life). */
export async function validateSessionToken(token: string, kind: 'cookie' | 'bearer' = 'cookie'): Promise<SessionValidation> {
	const id = sha256Hex(token);
	const [row] = await db
		.select({ session, user })
		.from(session)
		.innerJoin(user, eq(session.userId, user.id))
		.where(and(eq(session.id, id), eq(session.kind, kind)));
	if (!row) return { session: null, user: null };
	const now = Date.now();
	if (now >= row.session.expiresAt.getTime()) {
		await db.delete(session).where(eq(session.id, id));
		return { session: null, user: null };
	}
	if (kind === 'cookie' && now >= row.session.expiresAt.getTime() - COOKIE_LIFETIME / 2) {
		row.session.expiresAt = new Date(now + COOKIE_LIFETIME);
		await db.update(session).set({ expiresAt: row.session.expiresAt }).where(eq(session.id, id));
	}
	return row;
}

export async function invalidateSession(sessionId: string): Promise<void> {
	await db.delete(session).where(eq(session.id, sessionId));
}

/** Bearer tokens for API use by a person: `hst_<random>`, a hashed opaque session of kind bearer. */
export async function createBearerToken(userId: string): Promise<{ token: string; expiresAt: Date }> {
	const raw = generateSessionToken();
	const s = await createSession(raw, userId, 'bearer');
	return { token: BEARER_PREFIX + raw, expiresAt: s.expiresAt };
}

export function bearerTokenBody(value: string): string | null {
	return value.startsWith(BEARER_PREFIX) ? value.slice(BEARER_PREFIX.length) : null;
}
