// Server-Sent Events over fetch. EventSource cannot POST (exec/stream) and delivers named events
// (`event: sandbox.started`) only to listeners registered per name, so the dashboard reads the
// stream itself.

export interface SseMessage {
	event: string;
	id: string | null;
	data: string;
}

/** Parses an SSE body as it arrives (the WHATWG event-stream rules: comments, multi-line data). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
	const reader = body.getReader();
	const decoder = new TextDecoder();
	let buffer = '';
	let event = '';
	let id: string | null = null;
	let data: string[] = [];
	try {
		for (;;) {
			const { value, done } = await reader.read();
			if (done) return;
			buffer += decoder.decode(value, { stream: true });
			let nl: RegExpExecArray | null;
			const lineEnd = /\r\n|\r|\n/g;
			let start = 0;
			while ((nl = lineEnd.exec(buffer))) {
				// A lone \r at the end of the chunk may be the first half of \r\n.
				if (nl[0] === '\r' && nl.index === buffer.length - 1) break;
				const line = buffer.slice(start, nl.index);
				start = nl.index + nl[0].length;
				if (line === '') {
					if (data.length) yield { event: event || 'message', id, data: data.join('\n') };
					event = '';
					data = [];
					continue;
				}
				if (line.startsWith(':')) continue;
				const colon = line.indexOf(':');
				const field = colon < 0 ? line : line.slice(0, colon);
				let val = colon < 0 ? '' : line.slice(colon + 1);
				if (val.startsWith(' ')) val = val.slice(1);
				if (field === 'data') data.push(val);
				else if (field === 'event') event = val;
				else if (field === 'id') id = val;
			}
			buffer = buffer.slice(start);
		}
	} finally {
		reader.releaseLock();
	}
}
