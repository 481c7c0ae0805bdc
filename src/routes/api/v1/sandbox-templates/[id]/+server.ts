import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { notFound } from '$lib/server/http/errors';
import { findTemplate, toTemplateDto } from '$lib/server/sandboxes/templates';
import { visibleHosts } from '$lib/server/hosts/service';

/** GET /api/v1/sandbox-templates/{id} — sandboxes:read. One template (bare, with a `data` copy). */
export const GET = api({ scope: 'sandboxes:read' }, async ({ principal, params }) => {
	const t = findTemplate(params.id);
	if (!t) throw notFound('template');
	const hosts = await visibleHosts(principal.organizationId);
	const st = hosts.flatMap((h) => h.templates.filter((x) => x.id === t.id).map((x) => x.status));
	const dto = toTemplateDto(t, st.includes('ready') ? 'ready' : st[0] ?? 'absent');
	return json({ ...dto, data: dto });
});
