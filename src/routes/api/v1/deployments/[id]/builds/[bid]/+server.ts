import { and, eq } from 'drizzle-orm';
import { db } from '$lib/server/db';
import { deploymentVersion } from '$lib/server/db/schema';
import { api } from '$lib/server/http/handler';
import { notFound } from '$lib/server/http/errors';
import { ok } from '$lib/server/http/respond';
import { toBuildDto } from '$lib/server/deployments/service';
import { liveText } from '$lib/server/deployments/logs';
import { loadDeployment } from '$lib/server/deployments/route-helpers';

/** GET /api/v1/deployments/{id}/builds/{build_id} — deployments:read. The build with its log. */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const dep = await loadDeployment(ctx);
	const [v] = await db
		.select()
		.from(deploymentVersion)
		.where(and(eq(deploymentVersion.deploymentId, dep.id), eq(deploymentVersion.buildId, ctx.params.bid)));
	if (!v) throw notFound('build');
	return ok({ ...toBuildDto(v), log: liveText(v.id) ?? v.buildLog });
});
