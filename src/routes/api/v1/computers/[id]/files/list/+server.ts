import { computerFiles, withFiles } from '$lib/server/computers/files';
import { listRoute } from '$lib/server/files/routes';

/** GET /computers/{id}/files/list?path= — as GET /files. */
export const GET = computerFiles('computers:read', listRoute, withFiles);
