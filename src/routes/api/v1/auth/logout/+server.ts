import { api } from '$lib/server/http/handler';
import { invalidateSession, bearerTokenBody } from '$lib/server/auth/session';
import { sha256Hex } from '$lib/server/auth/crypto';

/** POST /api/v1/auth/logout — ends the calling hst_ token (or cookie session). 204. */
export const POST = api({}, async ({ request, event }) => {
	const header = request.headers.get('authorization') ?? '';
	const body = bearerTokenBody(header.replace(/^Bearer\s+/i, ''));
	if (body) await invalidateSession(sha256Hex(body));
	else if (event.locals.session) await invalidateSession(event.locals.session.id);
	return new Response(null, { status: 204 });
});
