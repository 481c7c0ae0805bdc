import { listRoute, rawPut } from '$lib/server/files/routes';

/** GET /api/v1/sandboxes/{id}/files/list?path= — sandboxes:read. `{path, entries, truncated}` (also under data). */
export const GET = listRoute;
export const PUT = rawPut('/list');
