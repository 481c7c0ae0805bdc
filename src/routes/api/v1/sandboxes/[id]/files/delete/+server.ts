import { deleteRoute, rawGet, rawPut } from '$lib/server/files/routes';

/** POST or DELETE /api/v1/sandboxes/{id}/files/delete {path, recursive?} (or ?path=) — sandboxes:write. */
export const POST = deleteRoute();
export const DELETE = deleteRoute();
export const GET = rawGet('/delete');
export const PUT = rawPut('/delete');
