import { rawGet, rawPut, writeManyRoute } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/batch {files: [{path, content (base64)}]} — the older batch write; same as write-many. */
export const POST = writeManyRoute;
export const GET = rawGet('/batch');
export const PUT = rawPut('/batch');
