import { downloadRoute, rawPut } from '$lib/server/files/routes';

/** GET /api/v1/sandboxes/{id}/files/download?path=[&format=tar][&filename=] — sandboxes:read. A file's bytes, or a tar of a directory (application/x-tar), as an attachment. */
export const GET = downloadRoute;
export const PUT = rawPut('/download');
