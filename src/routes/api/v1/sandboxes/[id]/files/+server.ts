import { deleteRoute, listRoute, sdkWriteRoute } from '$lib/server/files/routes';

/**
 * /api/v1/sandboxes/{id}/files
 * - GET ?path= (default /workspace) — sandboxes:read. `{path, entries: [{name, path, type, size, is_dir, is_symlink, mode, permissions, modified_at}], truncated}` (also under data).
 * - POST {path, content (base64), encoding?, mode?} — sandboxes:write. The SDK's write (≤ 10 MB decoded).
 * - DELETE ?path=&recursive= or a JSON body {path, recursive} — sandboxes:write.
 */
export const GET = listRoute;
export const POST = sdkWriteRoute;
export const DELETE = deleteRoute();
