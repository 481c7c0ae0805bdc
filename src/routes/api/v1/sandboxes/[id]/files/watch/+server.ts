import { rawPut, watchRoute } from '$lib/server/files/routes';

/**
 * GET /api/v1/sandboxes/{id}/files/watch?path=/workspace&recursive=true — sandboxes:read (Bearer or
 * ?ticket=). SSE: `data: {type: "created"|"modified"|"deleted", path, is_dir, size_bytes?}` in
 * order; a `: ready` comment once watching. Polls inside the sandbox every 200 ms.
 */
export const GET = watchRoute;
export const PUT = rawPut('/watch');
