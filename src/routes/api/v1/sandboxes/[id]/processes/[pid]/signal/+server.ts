import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { parseBody } from '$lib/server/http/validate';
import { signalProcess, toProcessDto } from '$lib/server/sandboxes/processes';
import { parsePid } from '$lib/server/sandboxes/pid';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

const SIGNALS = ['TERM', 'KILL', 'INT', 'HUP', 'STOP', 'CONT', 'USR1', 'USR2', 'QUIT'] as const;
const schema = z.object({
	signal: z
		.string()
		.transform((s) => s.toUpperCase().replace(/^SIG/, ''))
		.pipe(z.enum(SIGNALS))
});

/** POST /api/v1/sandboxes/{id}/processes/{pid}/signal — sandboxes:write. `{signal: "SIGTERM"|"TERM"|…}`. */
export const POST = api({ scope: 'sandboxes:write' }, async (ctx) => {
	const { signal } = await parseBody(ctx.request, schema);
	const s = await loadSandbox(ctx);
	return ok(toProcessDto(s, await signalProcess(s, parsePid(ctx.params.pid), signal)));
});
