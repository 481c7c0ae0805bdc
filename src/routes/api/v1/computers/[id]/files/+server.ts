import { computerFiles, withFiles } from '$lib/server/computers/files';
import { deleteRoute, listRoute, sdkWriteRoute } from '$lib/server/files/routes';

/** GET /computers/{id}/files?path= — bare `{path, entries, files, truncated}` (also under data). */
export const GET = computerFiles('computers:read', listRoute, withFiles);
/** POST /computers/{id}/files {path, content (base64)}. */
export const POST = computerFiles('computers:write', sdkWriteRoute);
/** DELETE /computers/{id}/files?path=&recursive= or a JSON body {path, recursive}. */
export const DELETE = computerFiles('computers:write', deleteRoute(false));
