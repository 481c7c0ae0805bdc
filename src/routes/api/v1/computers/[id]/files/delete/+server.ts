import { computerFiles } from '$lib/server/computers/files';
import { deleteRoute } from '$lib/server/files/routes';

/** POST|DELETE /computers/{id}/files/delete {path, recursive?}. */
export const POST = computerFiles('computers:write', deleteRoute(false));
export const DELETE = POST;
