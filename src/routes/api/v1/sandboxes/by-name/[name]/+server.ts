import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { getSandboxByName, toSandboxDto } from '$lib/server/sandboxes/service';

/** GET /api/v1/sandboxes/by-name/{name} — sandboxes:read. The newest live sandbox with this name or slug; 404 otherwise. */
export const GET = api({ scope: 'sandboxes:read' }, async ({ principal, params }) =>
	ok(toSandboxDto(await getSandboxByName(principal.organizationId, decodeURIComponent(params.name))))
);
