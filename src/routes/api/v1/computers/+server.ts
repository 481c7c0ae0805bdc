import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseBody, parseQuery } from '$lib/server/http/validate';
import { readPage } from '$lib/server/http/pagination';
import { computerCreateSchema, computerDto, computerListQuery, createComputer, listComputers } from '$lib/server/computers/service';
import { actorOf } from '$lib/server/sandboxes/route-helpers';

/** GET /api/v1/computers?page&per_page&status — computers:read → `{data:[Computer], meta:{total,page,per_page}}`. */
export const GET = api({ scope: 'computers:read' }, async ({ principal, url }) => {
	const page = readPage(url);
	const q = parseQuery(url, computerListQuery);
	const { items, total } = await listComputers(principal.organizationId, page, q);
	return json({ data: items, meta: { total, page: page.page, per_page: page.pageSize }, page: { page: page.page, page_size: page.pageSize, total } });
});

/**
 * POST /api/v1/computers — computers:write. `{name, template_type='miosa-desktop', size='small',
 * selected_apps, visibility, metadata, region, resolution?, ownership…}` → 201 bare Computer
 * (`active` once the desktop is up, `provisioning` while a template is built first).
 */
export const POST = api({ scope: 'computers:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, computerCreateSchema);
	const c = await createComputer(actorOf(ctx), input);
	return json(await computerDto(c), 201);
});
