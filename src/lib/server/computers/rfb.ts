// RFB (VNC) client-message parsing for the desktop bridge (no dependencies; unit-tested).

/**
 * Client → server RFB parser (3.8, security None: 12-byte version, 1-byte security type, 1-byte
 * ClientInit, then messages). Passes framebuffer/encoding/fence messages; input messages only
 * while `allowInput()`. Unknown message types end the connection (fail closed).
 */
export class RfbInputFilter {
	private buf: Buffer = Buffer.alloc(0);
	private handshake = 14;
	constructor(private readonly allowInput: () => boolean) {}

	/** Returns the bytes to forward, or null when the stream is not RFB we understand. */
	push(chunk: Buffer): Buffer | null {
		this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
		const out: Buffer[] = [];
		if (this.handshake > 0) {
			const n = Math.min(this.handshake, this.buf.length);
			out.push(this.buf.subarray(0, n));
			this.buf = this.buf.subarray(n);
			this.handshake -= n;
		}
		while (this.handshake === 0 && this.buf.length) {
			const len = messageLength(this.buf);
			if (len === -1) return null;
			if (len === 0 || this.buf.length < len) break;
			const msg = this.buf.subarray(0, len);
			this.buf = this.buf.subarray(len);
			const t = msg[0];
			const input = t === 4 || t === 5 || t === 6 || t === 251 || t === 255;
			if (!input || this.allowInput()) out.push(msg);
		}
		return Buffer.concat(out);
	}
}

/** Length of the client message at the start of b; 0 when more bytes are needed; -1 unknown. */
function messageLength(b: Buffer): number {
	const need = (n: number) => (b.length >= n ? n : 0);
	switch (b[0]) {
		case 0:
			return 20;
		case 2:
			return b.length < 4 ? 0 : 4 + 4 * b.readUInt16BE(2);
		case 3:
			return 10;
		case 4:
			return 8;
		case 5:
			return 6;
		case 6: {
			if (!need(8)) return 0;
			const l = b.readInt32BE(4);
			return 8 + Math.abs(l);
		}
		case 150:
			return 10;
		case 248:
			return b.length < 9 ? 0 : 9 + b[8];
		case 250:
			return 4;
		case 251:
			return b.length < 8 ? 0 : 8 + 16 * b[6];
		case 255:
			if (b.length < 2) return 0;
			return b[1] === 0 ? 12 : -1;
		default:
			return -1;
	}
}
