import { computerFiles } from '$lib/server/computers/files';
import { listRoute } from '$lib/server/files/routes';

/** GET /computers/{id}/files/readdir?path= — `{data: {path, entries: [{name, is_dir, is_symlink, size, modified_at, …}]}}`. */
export const GET = computerFiles('computers:read', listRoute);
