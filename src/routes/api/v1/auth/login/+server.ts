import { publicApi } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { checkRate } from '$lib/server/http/rate-limit';
import { ApiError } from '$lib/server/http/errors';
import { env } from '$lib/server/env';
import { loginSchema, verifyCredentials } from '$lib/server/accounts/service';
import { createBearerToken } from '$lib/server/auth/session';

/**
 * POST /api/v1/auth/login — public. `{email, password}` → `{token, expires_at, token_type}`:
 * an opaque `hst_` bearer token (stored hashed, 7 days). 401 invalid_token; 429 after repeated tries.
 */
export const POST = publicApi(async (event) => {
	const input = await parseBody(event.request, loginSchema);
	checkRate(`login:${event.locals.ip}:${input.email}`, env.HANGAR_LOGIN_RATE_LIMIT);
	checkRate(`login-ip:${event.locals.ip}`, env.HANGAR_LOGIN_RATE_LIMIT * 10);
	const user = await verifyCredentials(input.email, input.password);
	if (!user) throw new ApiError(401, 'invalid_token', 'wrong email or password');
	const { token, expiresAt } = await createBearerToken(user.id);
	return json({ token, token_type: 'Bearer', expires_at: expiresAt.toISOString(), data: { token, expires_at: expiresAt.toISOString() } });
});
