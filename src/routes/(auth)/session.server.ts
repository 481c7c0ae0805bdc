import type { RequestEvent } from '@sveltejs/kit';
import { createSession, generateSessionToken } from '$lib/server/auth/session';
import { setSessionCookie } from '$lib/server/auth/cookies';

/** Starts a cookie session for the user (Lucia guide). */
export async function startSession(event: RequestEvent, userId: string): Promise<void> {
	const token = generateSessionToken();
	const session = await createSession(token, userId, 'cookie');
	setSessionCookie(event, token, session.expiresAt);
}
