import { computerFiles } from '$lib/server/computers/files';
import { chmodRoute } from '$lib/server/files/routes';

/** POST /computers/{id}/files/chmod {path, mode ("0755" or a number)}. */
export const POST = computerFiles('computers:write', chmodRoute);
