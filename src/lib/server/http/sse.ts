/** Server-Sent Events: `text/event-stream`, heartbeats every 15 s, cleanup when the client leaves. */
export interface SseSink {
	send(data: unknown, opts?: { event?: string; id?: string | number }): void;
	comment(text: string): void;
	close(): void;
	readonly closed: boolean;
	readonly signal: AbortSignal;
}

export function sseResponse(
	start: (sink: SseSink) => void | (() => void) | Promise<void | (() => void)>,
	opts: { heartbeatMs?: number; headers?: Record<string, string> } = {}
): Response {
	const encoder = new TextEncoder();
	const abort = new AbortController();
	let cleanup: (() => void) | void;
	let heartbeat: NodeJS.Timeout | null = null;
	let controllerRef: ReadableStreamDefaultController<Uint8Array> | null = null;
	let closed = false;

	const finish = () => {
		if (closed) return;
		closed = true;
		if (heartbeat) clearInterval(heartbeat);
		abort.abort();
		try {
			cleanup?.();
		} catch (e) {
			console.error('sse cleanup failed', e);
		}
		try {
			controllerRef?.close();
		} catch {
			// already closed
		}
	};

	const sink: SseSink = {
		send(data, o = {}) {
			if (closed) return;
			let frame = '';
			if (o.event) frame += `event: ${o.event}\n`;
			if (o.id !== undefined) frame += `id: ${o.id}\n`;
			const text = typeof data === 'string' ? data : JSON.stringify(data);
			for (const line of text.split('\n')) frame += `data: ${line}\n`;
			controllerRef?.enqueue(encoder.encode(frame + '\n'));
		},
		comment(text) {
			if (!closed) controllerRef?.enqueue(encoder.encode(`: ${text}\n\n`));
		},
		close: finish,
		get closed() {
			return closed;
		},
		signal: abort.signal
	};

	const stream = new ReadableStream<Uint8Array>({
		async start(controller) {
			controllerRef = controller;
			controller.enqueue(encoder.encode(': connected\n\n'));
			heartbeat = setInterval(() => sink.comment('heartbeat'), opts.heartbeatMs ?? 15_000);
			try {
				cleanup = await start(sink);
			} catch (e) {
				console.error('sse start failed', e);
				sink.send({ type: 'error', message: e instanceof Error ? e.message : 'stream failed' }, { event: 'error' });
				finish();
			}
			if (closed) cleanup?.();
		},
		cancel() {
			finish();
		}
	});
	return new Response(stream, {
		headers: {
			'content-type': 'text/event-stream; charset=utf-8',
			'cache-control': 'no-cache, no-transform',
			connection: 'keep-alive',
			'x-accel-buffering': 'no',
			...(opts.headers ?? {})
		}
	});
}
