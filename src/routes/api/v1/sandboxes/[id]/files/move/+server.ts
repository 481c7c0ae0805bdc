import { moveRoute, rawGet, rawPut } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/move {from|source, to|destination, overwrite? (default false)} — sandboxes:write. */
export const POST = moveRoute;
export const GET = rawGet('/move');
export const PUT = rawPut('/move');
