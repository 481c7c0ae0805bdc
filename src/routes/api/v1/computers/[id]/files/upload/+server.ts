import { computerFiles } from '$lib/server/computers/files';
import { uploadRoute } from '$lib/server/files/routes';

/** POST /computers/{id}/files/upload — multipart `file`, `path` → 201 `{success, file: {path, filename, size_bytes}}`. */
export const POST = computerFiles('computers:write', uploadRoute);
