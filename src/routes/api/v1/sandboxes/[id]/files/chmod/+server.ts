import { chmodRoute, rawGet, rawPut } from '$lib/server/files/routes';

/** POST /api/v1/sandboxes/{id}/files/chmod {path, mode: number | "0755"} — sandboxes:write. */
export const POST = chmodRoute;
export const GET = rawGet('/chmod');
export const PUT = rawPut('/chmod');
