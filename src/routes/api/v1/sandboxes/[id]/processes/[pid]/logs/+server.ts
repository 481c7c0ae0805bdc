import { z } from 'zod';
import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { parseQuery } from '$lib/server/http/validate';
import { processLogs } from '$lib/server/sandboxes/processes';
import { parsePid } from '$lib/server/sandboxes/pid';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * GET /api/v1/sandboxes/{id}/processes/{pid}/logs?tail=200&format=json|text — sandboxes:read.
 * JSON `{data: {lines: [{stream, line, ts}], truncated}}` or plain text with format=text.
 */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const q = parseQuery(ctx.url, z.object({ tail: z.coerce.number().int().min(1).max(100_000).optional(), format: z.enum(['json', 'text']).optional() }));
	const logs = await processLogs(await loadSandbox(ctx), parsePid(ctx.params.pid), q.tail ?? 200);
	if (q.format === 'text') return new Response(logs.lines.map((l) => l.line).join('\n'), { headers: { 'content-type': 'text/plain; charset=utf-8' } });
	return json({ data: { lines: logs.lines, truncated: logs.truncated, text: logs.lines.map((l) => l.line).join('\n') } });
});
