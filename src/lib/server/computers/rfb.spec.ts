import { describe, expect, it } from 'vitest';
import { RfbInputFilter } from './rfb';

const handshake = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1]), Buffer.from([1])]);
const setEncodings = Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
const fbUpdate = Buffer.from([3, 1, 0, 0, 0, 0, 4, 0, 3, 0]);
const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
const pointer = Buffer.from([5, 1, 0, 10, 0, 20]);
const cut = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('abc')]);
const fence = Buffer.concat([Buffer.from([248, 0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from('xy')]);

describe('RfbInputFilter', () => {
	it('passes the handshake and non-input messages, drops input while not allowed', () => {
		let allow = false;
		const f = new RfbInputFilter(() => allow);
		const all = Buffer.concat([handshake, setEncodings, key, pointer, cut, fbUpdate, fence]);
		// Byte by byte: messages split across chunks are reassembled.
		const out: Buffer[] = [];
		for (const b of all) out.push(f.push(Buffer.from([b]))!);
		expect(Buffer.concat(out)).toEqual(Buffer.concat([handshake, setEncodings, fbUpdate, fence]));
		allow = true;
		expect(f.push(Buffer.concat([pointer, key]))).toEqual(Buffer.concat([pointer, key]));
	});

	it('fails closed on unknown message types', () => {
		const f = new RfbInputFilter(() => true);
		expect(f.push(handshake)).toEqual(handshake);
		expect(f.push(Buffer.from([77, 1, 2]))).toBeNull();
	});
});
