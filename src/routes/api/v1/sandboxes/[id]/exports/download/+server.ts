import { exportDownloadRoute } from '$lib/server/files/routes';

/** GET /api/v1/sandboxes/{id}/exports/download?path= | paths[]= [&filename=][&format=tar] — sandboxes:read. Bytes (a tar for directories and several paths). */
export const GET = exportDownloadRoute;
