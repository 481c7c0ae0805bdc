import type { ExecProgress } from '$lib/protocol';
import { api } from '$lib/server/http/handler';
import { parseBody } from '$lib/server/http/validate';
import { sseResponse } from '$lib/server/http/sse';
import { execSchema } from '$lib/server/sandboxes/schemas';
import { ensureRunning, execInSandbox } from '$lib/server/sandboxes/service';
import { agentFailure } from '$lib/server/sandboxes/service';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * POST /api/v1/sandboxes/{id}/exec/stream — sandboxes:write. Same body as exec; answers SSE:
 * `data: {type:"stdout"|"stderr", line}` in order, then `data: {type:"exit", exit_code, duration_ms}`.
 * Closing the connection kills the command.
 */
export const POST = api({ scope: 'sandboxes:write', rateClass: 'exec' }, async (ctx) => {
	const input = await parseBody(ctx.request, execSchema);
	// Fail before the stream starts when the sandbox cannot run commands.
	const sandbox = await ensureRunning(await loadSandbox(ctx));
	return sseResponse(async (sink) => {
		const partial = { stdout: '', stderr: '' };
		const onOutput = (p: ExecProgress) => {
			const text = partial[p.stream] + p.data;
			const lines = text.split('\n');
			partial[p.stream] = lines.pop() ?? '';
			for (const line of lines) sink.send({ type: p.stream, line });
		};
		try {
			const r = await execInSandbox(sandbox, input, { onOutput, signal: sink.signal });
			for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) sink.send({ type: stream, line: partial[stream] });
			sink.send({ type: 'exit', exit_code: r.exit_code, duration_ms: r.duration_ms, timed_out: r.timed_out, exec_id: r.exec_id });
		} catch (err) {
			if (!sink.closed) {
				const e = agentFailure(err);
				sink.send({ type: 'error', code: e.code, message: e.message });
			}
		}
		sink.close();
	});
});
