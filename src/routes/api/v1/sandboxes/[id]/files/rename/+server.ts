import { moveRoute, rawGet, rawPut } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/rename — same as /files/move. */
export const POST = moveRoute;
export const GET = rawGet('/rename');
export const PUT = rawPut('/rename');
