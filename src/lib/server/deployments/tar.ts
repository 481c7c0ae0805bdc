// A streaming reader of tar headers (ustar, GNU long names, pax `path`) that hashes each regular
// file's bytes: the manifest of an archive without unpacking it.
import crypto from 'node:crypto';

export interface ManifestEntry {
	type: 'file' | 'dir' | 'symlink' | 'other';
	size: number;
	mode: number;
	/** Regular files: sha256 of the content. Symlinks: the target. */
	sha256?: string;
	target?: string;
}

const BLOCK = 512;

function octal(buf: Buffer, start: number, len: number): number {
	// GNU base-256 for large numbers: high bit of the first byte set.
	if (buf[start] & 0x80) {
		let n = 0;
		for (let i = start + 1; i < start + len; i++) n = n * 256 + buf[i];
		return n;
	}
	const s = buf.toString('ascii', start, start + len).replace(/\0.*$/, '').trim();
	return s ? parseInt(s, 8) : 0;
}

const cstr = (buf: Buffer, start: number, len: number) => {
	const end = buf.indexOf(0, start);
	return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
};

export function normalizeMember(name: string): string | null {
	let n = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
	if (n === '.' || n === '') return null;
	n = n.replace(/^\/+/, '');
	return n;
}

function parsePax(data: Buffer): Record<string, string> {
	const out: Record<string, string> = {};
	let i = 0;
	while (i < data.length) {
		const sp = data.indexOf(0x20, i);
		if (sp < 0) break;
		const len = parseInt(data.toString('ascii', i, sp), 10);
		if (!len) break;
		const rec = data.toString('utf8', sp + 1, i + len - 1);
		const eq = rec.indexOf('=');
		if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
		i += len;
	}
	return out;
}

export class TarManifestParser {
	private buf: Buffer = Buffer.alloc(0);
	private files: Record<string, ManifestEntry> = {};
	private remaining = 0;
	private padding = 0;
	private current: { name: string; entry: ManifestEntry; hash: crypto.Hash | null; collect: Buffer[] | null; kind: string } | null = null;
	private longName: string | null = null;
	private longLink: string | null = null;
	private pax: Record<string, string> = {};
	private ended = false;

	push(chunk: Buffer): void {
		if (this.ended) return;
		this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
		let off = 0;
		while (off < this.buf.length) {
			if (this.remaining > 0) {
				const n = Math.min(this.remaining, this.buf.length - off);
				const part = this.buf.subarray(off, off + n);
				this.current?.hash?.update(part);
				this.current?.collect?.push(Buffer.from(part));
				this.remaining -= n;
				off += n;
				if (this.remaining === 0) this.finishEntry();
				continue;
			}
			if (this.padding > 0) {
				const n = Math.min(this.padding, this.buf.length - off);
				this.padding -= n;
				off += n;
				continue;
			}
			if (this.buf.length - off < BLOCK) break;
			const h = this.buf.subarray(off, off + BLOCK);
			off += BLOCK;
			if (h.every((b) => b === 0)) continue; // end-of-archive blocks
			this.header(h);
		}
		this.buf = this.buf.subarray(off);
	}

	private header(h: Buffer): void {
		const size = octal(h, 124, 12);
		const type = String.fromCharCode(h[156] || 0x30);
		let name = cstr(h, 0, 100);
		if (h.toString('ascii', 257, 262) === 'ustar') {
			const prefix = cstr(h, 345, 155);
			if (prefix && h.toString('ascii', 263, 265) !== ' \0') name = `${prefix}/${name}`;
		}
		const mode = octal(h, 100, 8);
		const linkname = cstr(h, 157, 100);
		const meta = type === 'L' || type === 'K' || type === 'x' || type === 'g';
		let entry: ManifestEntry;
		if (meta) entry = { type: 'other', size, mode };
		else {
			name = this.pax.path ?? this.longName ?? name;
			const target = this.pax.linkpath ?? this.longLink ?? linkname;
			this.pax = {};
			this.longName = this.longLink = null;
			entry =
				type === '0' || type === '\0' || type === '7'
					? { type: 'file', size, mode }
					: type === '5'
						? { type: 'dir', size: 0, mode }
						: type === '2'
							? { type: 'symlink', size: 0, mode, target }
							: { type: 'other', size: 0, mode };
		}
		this.current = {
			name,
			entry,
			kind: type,
			hash: entry.type === 'file' ? crypto.createHash('sha256') : null,
			collect: meta ? [] : null
		};
		this.remaining = size;
		this.padding = size % BLOCK ? BLOCK - (size % BLOCK) : 0;
		if (size === 0) this.finishEntry();
	}

	private finishEntry(): void {
		const c = this.current;
		this.current = null;
		if (!c) return;
		if (c.collect) {
			const data = Buffer.concat(c.collect);
			if (c.kind === 'L') this.longName = data.toString('utf8').replace(/\0+$/, '');
			else if (c.kind === 'K') this.longLink = data.toString('utf8').replace(/\0+$/, '');
			else if (c.kind === 'x') this.pax = parsePax(data);
			return;
		}
		const name = normalizeMember(c.name);
		if (!name) return;
		if (c.hash) c.entry.sha256 = c.hash.digest('hex');
		this.files[name] = c.entry;
	}

	entries(): Record<string, ManifestEntry> {
		this.ended = true;
		return this.files;
	}
}
