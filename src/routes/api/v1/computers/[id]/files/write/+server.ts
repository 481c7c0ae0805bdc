import { asFileEntry, computerFiles } from '$lib/server/computers/files';
import { writeRoute } from '$lib/server/files/routes';

/** POST /computers/{id}/files/write {path, content, encoding?} or {path, content_base64} → bare `{name, path, size, is_dir, modified_at, size_bytes}`. */
export const POST = computerFiles('computers:write', writeRoute, asFileEntry);
