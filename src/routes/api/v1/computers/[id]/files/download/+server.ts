import { computerFiles } from '$lib/server/computers/files';
import { downloadRoute } from '$lib/server/files/routes';

/** GET /computers/{id}/files/download?path= — raw bytes (a tar for a directory). */
export const GET = computerFiles('computers:read', downloadRoute);
