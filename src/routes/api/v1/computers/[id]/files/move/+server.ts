import { computerFiles } from '$lib/server/computers/files';
import { moveRoute } from '$lib/server/files/routes';

/** POST /computers/{id}/files/rename (or move) {from, to, overwrite?}. */
export const POST = computerFiles('computers:write', moveRoute);
