import { exportRoute } from '$lib/server/computers/files';

/** POST /computers/{id}/files/export {path} → bare `{url, expires_at, …}` (single-use link). */
export const POST = exportRoute;
