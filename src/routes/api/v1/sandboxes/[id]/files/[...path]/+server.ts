import { deleteRoute, rawGet, rawHead, rawPut } from '$lib/server/files/routes';

/**
 * /api/v1/sandboxes/{id}/files/{path without leading /} (the SDK's form)
 * - GET — sandboxes:read. The raw bytes (application/octet-stream, streamed, any size); HEAD: size only.
 * - PUT [?mode=0644] — sandboxes:write. The request body streamed into the file (atomic replace,
 *   ≤ HANGAR_MAX_UPLOAD_BYTES, default 1 GiB; parents are created).
 * - DELETE [?recursive=true] — sandboxes:write.
 * Named routes (tree, read, list…) win over this one; add ?raw=1 to read a file with such a name.
 */
export const GET = rawGet();
export const HEAD = rawHead();
export const PUT = rawPut();
export const DELETE = deleteRoute(true);
