import { api } from '$lib/server/http/handler';
import { parseBody } from '$lib/server/http/validate';
import { publishSchema } from '$lib/server/deployments/schemas';
import { publish, respondPublish } from '$lib/server/deployments/build';
import { loadDeployment } from '$lib/server/deployments/route-helpers';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/deployments/{id}/publish — deployments:write (send an Idempotency-Key: a retry then
 * answers the first result instead of publishing twice). `{source_sandbox_id, kind?: auto|static|
 * dynamic, environment?, output_path?, install_command?, build_command?, run_command?, port?,
 * health_check_path?, exclude?, promote? (default true), wait?}` → 202 `{data: {deployment, version,
 * release, services, promoted, url, build_logs_url}}` with the version `building`; the build runs in
 * the background (SSE at build_logs_url; `deployment.build_*` and `deployment.published` events).
 * `wait: true` (or seconds, ≤ 900) answers 200 when the build ends within that time.
 */
export const POST = api({ scope: 'deployments:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, publishSchema);
	const dep = await loadDeployment(ctx);
	const version = await publish(actorOf(ctx), dep, { ...input, source_sandbox_id: input.source_sandbox_id ?? input.sandbox_id });
	return respondPublish(dep, version, input.wait, ctx.url);
});
