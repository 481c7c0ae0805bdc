import crypto from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** A ULID (48-bit time, 80 random bits) in lower-case Crockford base32: sortable by creation time. */
export function ulid(now = Date.now()): string {
	let time = '';
	let t = now;
	for (let i = 0; i < 10; i++) {
		time = CROCKFORD[t % 32] + time;
		t = Math.floor(t / 32);
	}
	const bytes = crypto.randomBytes(16);
	let rand = '';
	for (let i = 0; i < 16; i++) rand += CROCKFORD[bytes[i] % 32];
	return time + rand;
}

/** A prefixed id, e.g. `dep_01hzq…`. */
export const prefixedId = (prefix: string) => `${prefix}_${ulid()}`;
