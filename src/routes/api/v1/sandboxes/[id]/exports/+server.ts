import { createExportRoute } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/exports {path | paths[], label?, filename?} — sandboxes:read. 201 `{id, sandbox_id, label, status, files, archive_download_url, created_at}`. */
export const POST = createExportRoute;
