import { rawPut, treeRoute } from '$lib/server/files/routes';

/** GET /api/v1/sandboxes/{id}/files/tree?path=&depth=3 — sandboxes:read. `{data: {path, name, type, size, modified_at, children}, truncated, count}`; `?raw=1` reads the file /tree. */
export const GET = treeRoute;
export const PUT = rawPut('/tree');
