import { rawGet, rawPut, writeManyRoute } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/write-many {files: [{path, content_base64}]} — sandboxes:write. All or nothing: `{written, failed}`. */
export const POST = writeManyRoute;
export const GET = rawGet('/write-many');
export const PUT = rawPut('/write-many');
