import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { defaultTemplateId, templateCatalog, toTemplateDto } from '$lib/server/sandboxes/templates';
import { visibleHosts } from '$lib/server/hosts/service';

/** GET /api/v1/sandbox-templates — sandboxes:read. `{default_template_id, data: [...]}` with each template's build status on the hosts. */
export const GET = api({ scope: 'sandboxes:read' }, async ({ principal }) => {
	const hosts = await visibleHosts(principal.organizationId);
	const status = (id: string) => {
		const states = hosts.flatMap((h) => h.templates.filter((t) => t.id === id).map((t) => t.status));
		return states.includes('ready') ? 'ready' : states.includes('building') ? 'building' : states[0] ?? 'absent';
	};
	return json({ default_template_id: defaultTemplateId(), data: templateCatalog().map((t) => toTemplateDto(t, status(t.id))) });
});
