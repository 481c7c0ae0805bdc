import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { envSetSchema, environmentName } from '$lib/server/deployments/schemas';
import { listEnv, setEnv } from '$lib/server/deployments/service';
import { loadDeployment } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

const envOf = (url: URL) => environmentName.parse(url.searchParams.get('environment') ?? 'production');

/**
 * GET /api/v1/deployments/{id}/env?environment=production — deployments:read. `{data: [{key,
 * value_preview, is_secret, environment, updated_at}]}`: values are never returned (secrets show ••••).
 */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const rows = await listEnv(await loadDeployment(ctx), envOf(ctx.url));
	return json({ data: rows, env: rows });
});

/**
 * POST /api/v1/deployments/{id}/env — deployments:write. `{env: {KEY: "value"}, environment?,
 * is_secret?}` (or `{vars: [{key, value, is_secret}]}`, or `{key, value}`): upserts, sealed with
 * ChaCha20-Poly1305. The next publish to that environment freezes them into its version.
 */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, envSetSchema);
	const rows = await setEnv(actorOf(ctx), await loadDeployment(ctx), input);
	return json({ data: rows, env: rows });
});
