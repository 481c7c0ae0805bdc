import { rawPut, statRoute } from '$lib/server/files/routes';

/** GET ?path= / POST {path} /api/v1/sandboxes/{id}/files/stat — sandboxes:read. `{data: {path, name, size, is_dir, is_symlink, mode, permissions, modified_at}}`. */
export const GET = statRoute;
export const POST = statRoute;
export const PUT = rawPut('/stat');
