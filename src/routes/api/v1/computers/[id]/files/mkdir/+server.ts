import { computerFiles } from '$lib/server/computers/files';
import { mkdirRoute } from '$lib/server/files/routes';

/** POST /computers/{id}/files/mkdir {path, recursive? (true), mode?}. */
export const POST = computerFiles('computers:write', mkdirRoute);
