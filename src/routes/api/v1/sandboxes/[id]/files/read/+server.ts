import { rawPut, readRoute } from '$lib/server/files/routes';

/** GET /api/v1/sandboxes/{id}/files/read?path=[&encoding=utf8|base64] — sandboxes:read. Raw bytes, or `{content, encoding, size}` (also under data). */
export const GET = readRoute;
export const PUT = rawPut('/read');
