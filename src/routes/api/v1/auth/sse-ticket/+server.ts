import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { mintTicket } from '$lib/server/tickets/service';

/** POST /api/v1/auth/sse-ticket — any credential. → `{ticket: "sset_…", expires_in: 60}`, single use. */
export const POST = api({}, async ({ principal }) => {
	const { ticket, expiresAt } = await mintTicket(principal, 'sse', { ttlSec: 60 });
	return json({ ticket, expires_in: 60, expires_at: expiresAt.toISOString() }, 201);
});
