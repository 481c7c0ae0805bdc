import { describe, expect, it } from 'vitest';
import { MultipartReader, MultipartTooLarge, boundaryOf } from './multipart';

/** A body split into chunks of `size` bytes (to cross delimiters at every offset). */
function streamOf(buf: Buffer, size: number): ReadableStream<Uint8Array> {
	let off = 0;
	return new ReadableStream({
		pull(c) {
			if (off >= buf.length) return c.close();
			c.enqueue(new Uint8Array(buf.subarray(off, off + size)));
			off += size;
		}
	});
}

async function readAll(body: Buffer, boundary: string, chunk: number, max = Infinity) {
	const r = new MultipartReader(streamOf(body, chunk), boundary, max);
	const parts: { name: string; filename: string | null; type: string | null; data: Buffer }[] = [];
	for (let p = await r.next(); p; p = await r.next()) {
		const bufs: Buffer[] = [];
		for await (const c of p.body()) bufs.push(Buffer.from(c));
		parts.push({ name: p.name, filename: p.filename, type: p.contentType, data: Buffer.concat(bufs) });
	}
	return parts;
}

describe('multipart reader', () => {
	it('finds the boundary', () => {
		expect(boundaryOf('multipart/form-data; boundary=----abc')).toBe('----abc');
		expect(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b"')).toBe('a b');
		expect(boundaryOf('application/json')).toBeNull();
		expect(boundaryOf(null)).toBeNull();
	});

	it('streams parts with binary bodies across every chunk split', async () => {
		const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
		const fd = new FormData();
		fd.append('path', '/workspace/dir/');
		fd.append('file', new Blob([bin, Buffer.from('\r\n--not-the-boundary\r\n'), bin]), 'ünï "q".bin');
		fd.append('empty', '');
		const req = new Request('http://x/', { method: 'POST', body: fd });
		const boundary = boundaryOf(req.headers.get('content-type'))!;
		const body = Buffer.from(await req.arrayBuffer());
		for (const size of [1, 2, 3, 7, 64, 1000, body.length]) {
			const parts = await readAll(body, boundary, size);
			expect(parts.map((p) => [p.name, p.filename])).toEqual([
				['path', null],
				['file', 'ünï %22q%22.bin'],
				['empty', null]
			]);
			expect(parts[0].data.toString()).toBe('/workspace/dir/');
			expect(parts[1].data.equals(Buffer.concat([bin, Buffer.from('\r\n--not-the-boundary\r\n'), bin]))).toBe(true);
			expect(parts[1].type).toBe('application/octet-stream');
			expect(parts[2].data.length).toBe(0);
		}
	});

	it('skips unread parts, handles a preamble, and enforces the size limit', async () => {
		const body = Buffer.from('preamble\r\n--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nAAAA\r\n--XX\r\nContent-Disposition: form-data; name="b"; filename="b.txt"\r\n\r\nBB\r\n--XX--\r\n');
		const r = new MultipartReader(streamOf(body, 5), 'XX');
		expect((await r.next())!.name).toBe('a');
		const b = (await r.next())!;
		expect(b.filename).toBe('b.txt');
		expect(await b.text()).toBe('BB');
		expect(await r.next()).toBeNull();
		await expect(readAll(body, 'XX', 5, 40)).rejects.toBeInstanceOf(MultipartTooLarge);
		await expect(readAll(Buffer.from('--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nAAA'), 'XX', 4)).rejects.toThrow(/ended/);
	});
});
