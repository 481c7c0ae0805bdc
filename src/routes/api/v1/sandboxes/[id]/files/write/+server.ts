import { rawGet, rawPut, writeRoute } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/write {path, content, encoding?: utf8 (default) | base64, mode?} — sandboxes:write (≤ 10 MB decoded). */
export const POST = writeRoute;
export const GET = rawGet('/write');
export const PUT = rawPut('/write');
