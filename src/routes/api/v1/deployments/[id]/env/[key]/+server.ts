import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { environmentName } from '$lib/server/deployments/schemas';
import { deleteEnv } from '$lib/server/deployments/service';
import { loadDeployment } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/** DELETE /api/v1/deployments/{id}/env/{key}?environment= — deployments:write. */
export const DELETE = api({ scope: 'deployments:write' }, async (ctx) => {
	const environment = environmentName.parse(ctx.url.searchParams.get('environment') ?? 'production');
	await deleteEnv(actorOf(ctx), await loadDeployment(ctx), ctx.params.key, environment);
	return ok({ key: ctx.params.key, environment, deleted: true });
});
