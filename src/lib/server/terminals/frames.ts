// Decoder for the agent → control plane side of a 'pty' channel: `[u8 type][u32 BE length][payload]`
// frames (type 1 = terminal output, type 2 = JSON PtyControl); see PtyFrame in the protocol.
// Relative imports only: the agent's tests use it too.
import { PTY_FRAME_HEADER, PtyFrame, type PtyControl } from '../../protocol/index';

export type PtyMessage = { kind: 'data'; data: Buffer } | { kind: 'control'; control: PtyControl };

/** A frame larger than this means a broken stream (the agent sends at most the scrollback or one read). */
const MAX_FRAME = 16 * 1024 * 1024;

export class PtyFrameDecoder {
	private pending: Buffer[] = [];
	private size = 0;

	/** Feeds channel bytes; returns the frames completed by them, in order. */
	push(chunk: Buffer): PtyMessage[] {
		this.pending.push(chunk);
		this.size += chunk.length;
		const out: PtyMessage[] = [];
		for (;;) {
			if (this.size < PTY_FRAME_HEADER) break;
			const head = this.peek(PTY_FRAME_HEADER);
			const type = head.readUInt8(0);
			const len = head.readUInt32BE(1);
			if (len > MAX_FRAME) throw new Error(`pty frame too large (${len} bytes)`);
			if (this.size < PTY_FRAME_HEADER + len) break;
			const payload = this.take(PTY_FRAME_HEADER + len).subarray(PTY_FRAME_HEADER);
			if (type === PtyFrame.data) out.push({ kind: 'data', data: payload });
			else if (type === PtyFrame.control) {
				try {
					out.push({ kind: 'control', control: JSON.parse(payload.toString('utf8')) as PtyControl });
				} catch {
					/* ignore a malformed control frame */
				}
			}
			// Unknown types are skipped (newer agents may add some).
		}
		return out;
	}

	private peek(n: number): Buffer {
		if (this.pending[0].length >= n) return this.pending[0];
		const all = Buffer.concat(this.pending, this.size);
		this.pending = [all];
		return all;
	}

	private take(n: number): Buffer {
		const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.size);
		const head = all.subarray(0, n);
		const rest = all.subarray(n);
		this.pending = rest.length ? [rest] : [];
		this.size = rest.length;
		return head;
	}
}
