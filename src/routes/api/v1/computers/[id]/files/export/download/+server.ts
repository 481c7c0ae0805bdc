import { exportDownloadRoute } from '$lib/server/computers/files';

/** GET /computers/{id}/files/export/download?ticket= — an export link's bytes. */
export const GET = exportDownloadRoute;
