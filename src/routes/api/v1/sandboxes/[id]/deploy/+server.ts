import { and, eq, isNull } from 'drizzle-orm';
import { db } from '$lib/server/db';
import { deployment } from '$lib/server/db/schema';
import { api } from '$lib/server/http/handler';
import { requireScope } from '$lib/server/auth/principal';
import { parseBody } from '$lib/server/http/validate';
import { sandboxDeploySchema } from '$lib/server/deployments/schemas';
import { createDeployment, getDeployment } from '$lib/server/deployments/service';
import { publish, respondPublish } from '$lib/server/deployments/build';
import { slugify } from '$lib/server/slug';
import { actorOf, loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/deploy — deployments:write (Idempotency-Key: a retry answers the
 * first result). Publishes this sandbox: to `deployment_id` (id or slug), else to the deployment
 * called `name` in the organization (created in the sandbox's workspace and project when there is
 * none). Body as POST /deployments/{id}/publish, plus `name`, `deployment_id`, `type|mode`
 * (`server` = dynamic), `start_command`. → 202 `{data: {deployment, version, url, public_url, …}}`.
 */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	requireScope(ctx.principal, 'sandboxes:read');
	const input = await parseBody(ctx.request, sandboxDeploySchema);
	const sb = await loadSandbox(ctx);
	const actor = actorOf(ctx);
	let dep;
	if (input.deployment_id) dep = await getDeployment(ctx.principal.organizationId, input.deployment_id);
	else {
		const name = input.name ?? sb.name ?? `sandbox-${sb.id.slice(0, 8)}`;
		const [existing] = await db
			.select()
			.from(deployment)
			.where(and(eq(deployment.organizationId, sb.organizationId), eq(deployment.slug, slugify(name)), isNull(deployment.deletedAt)));
		dep = existing ?? (await createDeployment(actor, { ...input, name, workspace_id: sb.workspaceId, project_id: sb.projectId, metadata: input.metadata }));
	}
	const version = await publish(actor, dep, { ...input, source_sandbox_id: sb.id });
	return respondPublish(dep, version, input.wait, ctx.url);
});
