import { mkdirRoute, rawGet, rawPut } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/mkdir {path, parents? (default true), mode?} — sandboxes:write. */
export const POST = mkdirRoute;
export const GET = rawGet('/mkdir');
export const PUT = rawPut('/mkdir');
