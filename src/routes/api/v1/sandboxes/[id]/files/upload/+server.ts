import { rawGet, rawPut, uploadRoute } from '$lib/server/files/routes';

/**
 * POST /api/v1/sandboxes/{id}/files/upload — sandboxes:write. multipart/form-data: `file` (one or
 * more), `path` (file path; a trailing `/` or an existing directory gets the file's name appended)
 * or `dir`, `mode?`. 201 `{success, file: {path, filename, size_bytes}, files}`; 400 MISSING_FILE
 * without a file; 413 FILE_TOO_LARGE past HANGAR_MAX_UPLOAD_BYTES. Streamed, never buffered.
 */
export const POST = uploadRoute;
export const GET = rawGet('/upload');
export const PUT = rawPut('/upload');
