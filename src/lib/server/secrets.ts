import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { env } from './env';

/**
 * Encryption for secrets that must be recovered (webhook signing secrets, sandbox env):
 * AES-256-GCM (v1) or ChaCha20-Poly1305 (v2) with the instance key from HANGAR_SECRET_KEY, or a
 * key generated once under the data dir (mode 0600).
 */
let key: Buffer | null = null;

function instanceKey(): Buffer {
	if (key) return key;
	if (env.HANGAR_SECRET_KEY) {
		key = crypto.createHash('sha256').update(env.HANGAR_SECRET_KEY).digest();
		return key;
	}
	const file = path.join(env.dataDir, 'secret.key');
	fs.mkdirSync(env.dataDir, { recursive: true });
	try {
		key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
	} catch {
		const fresh = crypto.randomBytes(32);
		try {
			fs.writeFileSync(file, fresh.toString('base64'), { mode: 0o600, flag: 'wx' });
			key = fresh;
		} catch {
			key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
		}
	}
	return key;
}

/** A key for HMAC signatures (preview tokens…), derived from the instance key per purpose. */
export function hmacKey(purpose: string): Buffer {
	return crypto.createHmac('sha256', instanceKey()).update(`hangar-hmac:${purpose}`).digest();
}

// Sealed forms: <version>.<nonce>.<tag>.<ciphertext>, base64url parts; the version names the AEAD.
const AEADS = { v1: 'aes-256-gcm', v2: 'chacha20-poly1305' } as const;
type SealVersion = keyof typeof AEADS;

function sealAs(version: SealVersion, plaintext: string): string {
	const iv = crypto.randomBytes(12);
	const cipher =
		version === 'v1'
			? crypto.createCipheriv('aes-256-gcm', instanceKey(), iv, { authTagLength: 16 })
			: crypto.createCipheriv('chacha20-poly1305', instanceKey(), iv, { authTagLength: 16 });
	const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
	return [version, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

/** AES-256-GCM (webhook secrets, sandbox env, stored responses). */
export const seal = (plaintext: string) => sealAs('v1', plaintext);

/** ChaCha20-Poly1305 (deployment env vars, as the contract specifies). */
export const sealChaCha = (plaintext: string) => sealAs('v2', plaintext);

export function unseal(sealed: string): string {
	const [v, iv, tag, ct] = sealed.split('.');
	if (!Object.hasOwn(AEADS, v) || !iv || !tag || ct === undefined) throw new Error('unknown sealed format');
	const nonce = Buffer.from(iv, 'base64url');
	const decipher =
		v === 'v1'
			? crypto.createDecipheriv('aes-256-gcm', instanceKey(), nonce, { authTagLength: 16 })
			: crypto.createDecipheriv('chacha20-poly1305', instanceKey(), nonce, { authTagLength: 16 });
	decipher.setAuthTag(Buffer.from(tag, 'base64url'));
	return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
