import { copyRoute, rawGet, rawPut } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/copy {from|source, to|destination, overwrite? (false), recursive? (false)} — sandboxes:write. */
export const POST = copyRoute;
export const GET = rawGet('/copy');
export const PUT = rawPut('/copy');
