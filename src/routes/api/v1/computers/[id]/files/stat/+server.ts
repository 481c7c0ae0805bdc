import { computerFiles } from '$lib/server/computers/files';
import { statRoute } from '$lib/server/files/routes';

/** GET ?path= / POST {path} /computers/{id}/files/stat → `{data: {path, size, mode, is_dir, is_symlink, symlink_target?, modified_at, …}}`. */
export const GET = computerFiles('computers:read', statRoute);
export const POST = computerFiles('computers:read', statRoute);
