// Preview credentials.
//
// - Share tokens `miosa_pv_…` (revocable): random, stored as SHA-256 in preview_share, bound to
//   one preview (sandbox + port). Full access (any method) until they expire or are revoked.
// - Preview tokens `mp_<header>.<payload>.<signature>` (stateless, JWT-shaped, HS256 with a key
//   derived from the instance key): bound to one sandbox (and a port when minted with one), scope
//   `read` (GET/HEAD/OPTIONS only) or `interact`, expire after ≤ 24 h; not revocable.
import crypto from 'node:crypto';
import { randomToken, sha256Hex } from '../auth/crypto';
import { hmacKey } from '../secrets';

export const SHARE_PREFIX = 'miosa_pv_';
export const MP_PREFIX = 'mp_';
export const MAX_PREVIEW_TOKEN_SEC = 86_400;
export const DEFAULT_PREVIEW_TOKEN_SEC = 3600;

export type PreviewScope = 'read' | 'interact';

export interface PreviewTokenClaims {
	/** sandbox id */
	sub: string;
	/** organization id */
	org: string;
	scope: PreviewScope;
	port?: number;
	iat: number;
	exp: number;
	jti: string;
}

const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');
const HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function sign(data: string): string {
	return crypto.createHmac('sha256', hmacKey('preview-token')).update(data).digest('base64url');
}

export function mintPreviewToken(c: Omit<PreviewTokenClaims, 'iat' | 'jti'>): string {
	const claims: PreviewTokenClaims = { ...c, iat: Math.floor(Date.now() / 1000), jti: randomToken(10) };
	const body = `${HEADER}.${b64(JSON.stringify(claims))}`;
	return `${MP_PREFIX}${body}.${sign(body)}`;
}

/** Claims of a valid, unexpired mp_ token; null otherwise. */
export function verifyPreviewToken(token: string, now = Date.now()): PreviewTokenClaims | null {
	if (!token.startsWith(MP_PREFIX)) return null;
	const parts = token.slice(MP_PREFIX.length).split('.');
	if (parts.length !== 3 || parts[0] !== HEADER) return null;
	const expected = Buffer.from(sign(`${parts[0]}.${parts[1]}`));
	const got = Buffer.from(parts[2]);
	if (expected.length !== got.length || !crypto.timingSafeEqual(expected, got)) return null;
	try {
		const c = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as PreviewTokenClaims;
		if (typeof c.sub !== 'string' || typeof c.exp !== 'number' || (c.scope !== 'read' && c.scope !== 'interact')) return null;
		if (c.exp * 1000 <= now) return null;
		return c;
	} catch {
		return null;
	}
}

/** Decodes without verifying (to say "expired" rather than "invalid"). */
export function peekPreviewToken(token: string): Partial<PreviewTokenClaims> | null {
	try {
		return JSON.parse(Buffer.from(token.slice(MP_PREFIX.length).split('.')[1] ?? '', 'base64url').toString('utf8'));
	} catch {
		return null;
	}
}

export function newShareToken(): { token: string; hash: string; prefix: string } {
	const token = `${SHARE_PREFIX}${randomToken(24)}`;
	return { token, hash: sha256Hex(token), prefix: token.slice(0, 12) };
}

export const hashShareToken = (token: string) => sha256Hex(token);
