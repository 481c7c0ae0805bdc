import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { writeStdin } from '$lib/server/sandboxes/processes';
import { parsePid } from '$lib/server/sandboxes/pid';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

const schema = z
	.object({ data: z.string().max(10_000_000).optional(), data_b64: z.string().max(14_000_000).optional(), eof: z.boolean().optional() })
	.refine((v) => v.data !== undefined || v.data_b64 !== undefined || v.eof, 'send data, data_b64 or eof');

/** POST /api/v1/sandboxes/{id}/processes/{pid}/stdin — sandboxes:write. `{data}` (text) or `{data_b64}`, `eof?` closes stdin. */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const input = await parseBody(ctx.request, schema);
	const pid = parsePid(ctx.params.pid);
	await writeStdin(await loadSandbox(ctx), pid, input);
	return ok({ pid, written: true });
});
