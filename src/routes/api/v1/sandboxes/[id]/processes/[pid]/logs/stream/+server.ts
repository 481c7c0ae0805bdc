import { api } from '$lib/server/http/handler';
import { sseResponse } from '$lib/server/http/sse';
import { openAgentChannel } from '$lib/server/hosts/channels';
import { agentFailure, ensureRunning } from '$lib/server/sandboxes/service';
import { parsePid } from '$lib/server/sandboxes/pid';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';

/**
 * GET /api/v1/sandboxes/{id}/processes/{pid}/logs/stream?tail=100 — sandboxes:read (Bearer or ?ticket=).
 * SSE `data: {type:"stdout"|"stderr", line}` as the process writes, then `{type:"exit"}` when it ends.
 */
export const GET = api({ scope: 'sandboxes:read' }, async (ctx) => {
	const s = await ensureRunning(await loadSandbox(ctx));
	const pid = parsePid(ctx.params.pid);
	const tail = Number(ctx.url.searchParams.get('tail') ?? '100') || 0;
	let channel;
	try {
		channel = await openAgentChannel(s.hostId!, 'process-logs', { sandbox_id: s.id, pid, tail });
	} catch (err) {
		throw agentFailure(err);
	}
	const ch = channel;
	return sseResponse((sink) => {
		let buf = '';
		// Records carry raw chunks per stream; lines are cut per stream so stdout and stderr never mix.
		const partial: Record<string, string> = { stdout: '', stderr: '' };
		const emitChunk = (stream: string, data: string) => {
			const lines = ((partial[stream] ?? '') + data).split('\n');
			partial[stream] = lines.pop() ?? '';
			for (const line of lines) sink.send({ type: stream, line });
		};
		ch.setEncoding('utf8');
		ch.on('data', (chunk: string) => {
			buf += chunk;
			const records = buf.split('\n');
			buf = records.pop() ?? '';
			for (const r of records) {
				if (!r.trim()) continue;
				try {
					const rec = JSON.parse(r) as { stream: string; data?: string; line?: string };
					if (rec.line !== undefined) sink.send({ type: rec.stream, line: rec.line });
					else emitChunk(rec.stream, rec.data ?? '');
				} catch {
					sink.send({ type: 'stdout', line: r });
				}
			}
		});
		ch.on('end', () => {
			for (const [stream, rest] of Object.entries(partial)) if (rest) sink.send({ type: stream, line: rest });
			sink.send({ type: 'exit', pid });
			sink.close();
		});
		ch.on('error', () => sink.close());
		return () => ch.destroy();
	});
});
