import { api } from '$lib/server/http/handler';
import { json, ok } from '$lib/server/http/respond';
import { parseBody, parseQuery } from '$lib/server/http/validate';
import { listBody, readPage } from '$lib/server/http/pagination';
import { sandboxCreateSchema, sandboxListQuery } from '$lib/server/sandboxes/schemas';
import { createSandbox, listSandboxes, toSandboxDto } from '$lib/server/sandboxes/service';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/**
 * GET /api/v1/sandboxes — sandboxes:read. Filters: state, tags (csv, all must match), name,
 * template_id, workspace_id, project_id, external_*; destroyed ones only with state=destroyed or
 * include_destroyed=true. `{data, page}`.
 */
export const GET = api({ scope: 'sandboxes:read' }, async ({ principal, url }) => {
	const page = readPage(url);
	const q = parseQuery(url, sandboxListQuery);
	const { rows, total } = await listSandboxes(principal.organizationId, page, q);
	return json(listBody(rows.map(toSandboxDto), page, total));
});

/**
 * POST /api/v1/sandboxes — sandboxes:write. Body per contract §2.3 (template_id|template|image,
 * size, name, slug, region, persistent, timeout_sec, idle_timeout_sec, env, metadata, tags,
 * ownership). → 201 `{data: Sandbox}` (running; provisioning while a template is first built).
 * Errors: 422, 400 invalid_region, 409 region_unavailable / slug taken, 502 AGENT_UNAVAILABLE.
 */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, sandboxCreateSchema);
	const row = await createSandbox(actorOf(ctx), input);
	return ok(toSandboxDto(row), 201);
});
