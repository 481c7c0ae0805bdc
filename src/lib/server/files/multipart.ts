/**
 * A streaming multipart/form-data reader: parts come one at a time and a part's body is an async
 * iterator of chunks, so an upload is never held in memory (Request.formData() would buffer it).
 * Read each part's body (or not: `next()` skips what is left) before asking for the next part.
 */

export class MultipartError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'MultipartError';
	}
}

export class MultipartTooLarge extends Error {
	constructor(readonly limit: number) {
		super(`the request body is larger than ${limit} bytes`);
		this.name = 'MultipartTooLarge';
	}
}

export interface Part {
	name: string;
	filename: string | null;
	contentType: string | null;
	/** The part's bytes, in chunks (valid until the next call to `next()`). */
	body(): AsyncGenerator<Buffer>;
	/** The whole part as UTF-8 text (small fields only). */
	text(max?: number): Promise<string>;
}

/** The boundary of a multipart/form-data content type, or null. */
export function boundaryOf(contentType: string | null): string | null {
	if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType.trim())) return null;
	const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
	const b = m?.[1] ?? m?.[2];
	return b && b.length <= 200 ? b : null;
}

function parseParams(value: string): Record<string, string> {
	const out: Record<string, string> = {};
	const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
	let m: RegExpExecArray | null;
	while ((m = re.exec(value))) {
		const key = m[1].toLowerCase();
		out[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3].trim();
	}
	return out;
}

function decodeExtValue(v: string): string | null {
	// RFC 5987: charset'lang'percent-encoded
	const m = /^([\w-]+)'[^']*'(.*)$/.exec(v);
	if (!m) return null;
	try {
		return m[1].toLowerCase() === 'utf-8' ? decodeURIComponent(m[2]) : unescape(m[2]);
	} catch {
		return null;
	}
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER = 16 * 1024;

export class MultipartReader {
	private buf: Buffer = CRLF; // so the first delimiter looks like every other one
	private done = false;
	private total = 0;
	private state: 'preamble' | 'after' | 'body' | 'end' = 'preamble';
	private readonly delim: Buffer;
	private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

	constructor(
		body: ReadableStream<Uint8Array>,
		boundary: string,
		private readonly maxBytes = Infinity
	) {
		this.delim = Buffer.from(`\r\n--${boundary}`);
		this.reader = body.getReader();
	}

	/** Bytes of the request body read so far. */
	get bytesRead(): number {
		return this.total;
	}

	private async fill(): Promise<boolean> {
		if (this.done) return false;
		const { value, done } = await this.reader.read();
		if (done || !value) {
			this.done = true;
			return false;
		}
		this.total += value.byteLength;
		if (this.total > this.maxBytes) throw new MultipartTooLarge(this.maxBytes);
		const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
		this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
		return true;
	}

	private async need(n: number): Promise<void> {
		while (this.buf.length < n) if (!(await this.fill())) throw new MultipartError('the multipart body ended early');
	}

	/** Stops reading (the rest of the body is left unread). */
	async cancel(): Promise<void> {
		this.state = 'end';
		try {
			this.reader.releaseLock();
		} catch {
			/* already released */
		}
	}

	async next(): Promise<Part | null> {
		if (this.state === 'body') for await (const _ of this.bodyChunks()) void _;
		if (this.state === 'preamble') {
			for (;;) {
				const i = this.buf.indexOf(this.delim);
				if (i >= 0) {
					this.buf = this.buf.subarray(i + this.delim.length);
					break;
				}
				if (this.buf.length > this.delim.length) this.buf = this.buf.subarray(this.buf.length - this.delim.length);
				if (!(await this.fill())) throw new MultipartError('no multipart boundary in the body');
			}
			this.state = 'after';
		}
		if (this.state === 'end') return null;
		// after a delimiter: `--` ends the body, else (optional padding) CRLF and the part's headers
		await this.need(2);
		if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
			this.state = 'end';
			return null;
		}
		let eol: number;
		while ((eol = this.buf.indexOf(CRLF)) < 0) {
			if (this.buf.length > 1024) throw new MultipartError('bad multipart delimiter line');
			if (!(await this.fill())) throw new MultipartError('the multipart body ended early');
		}
		this.buf = this.buf.subarray(eol);
		let end: number;
		while ((end = this.buf.indexOf(HEADER_END)) < 0) {
			if (this.buf.length > MAX_HEADER) throw new MultipartError('multipart part headers are too long');
			if (!(await this.fill())) throw new MultipartError('the multipart body ended early');
		}
		const head = this.buf.toString('utf8', 2, end);
		this.buf = this.buf.subarray(end + HEADER_END.length);
		const headers: Record<string, string> = {};
		for (const line of head.split('\r\n')) {
			const c = line.indexOf(':');
			if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
		}
		const disp = headers['content-disposition'] ?? '';
		if (!/^form-data\b/i.test(disp)) throw new MultipartError('a part has no form-data Content-Disposition');
		const params = parseParams(disp.replace(/^form-data/i, ''));
		const filename = (params['filename*'] && decodeExtValue(params['filename*'])) ?? params.filename ?? null;
		this.state = 'body';
		const self = this;
		return {
			name: params.name ?? '',
			filename,
			contentType: headers['content-type'] ?? null,
			body: () => self.bodyChunks(),
			async text(max = 64 * 1024) {
				const parts: Buffer[] = [];
				let n = 0;
				for await (const c of self.bodyChunks()) {
					n += c.length;
					if (n > max) throw new MultipartError(`the field ${params.name ?? ''} is longer than ${max} bytes`);
					parts.push(Buffer.from(c));
				}
				return Buffer.concat(parts).toString('utf8');
			}
		};
	}

	private async *bodyChunks(): AsyncGenerator<Buffer> {
		while (this.state === 'body') {
			const i = this.buf.indexOf(this.delim);
			if (i >= 0) {
				const out = this.buf.subarray(0, i);
				this.buf = this.buf.subarray(i + this.delim.length);
				this.state = 'after';
				if (out.length) yield out;
				return;
			}
			const keep = this.delim.length - 1;
			if (this.buf.length > keep) {
				const out = this.buf.subarray(0, this.buf.length - keep);
				this.buf = this.buf.subarray(this.buf.length - keep);
				yield out;
			}
			if (!(await this.fill())) throw new MultipartError('the multipart body ended inside a part');
		}
	}
}
