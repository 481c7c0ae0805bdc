import { computerFiles } from '$lib/server/computers/files';
import { copyRoute } from '$lib/server/files/routes';

/** POST /computers/{id}/files/copy {from, to, recursive?}. */
export const POST = computerFiles('computers:write', copyRoute);
