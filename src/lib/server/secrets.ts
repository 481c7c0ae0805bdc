import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { env } from './env';

/**
 * Encryption for secrets that must be recovered (webhook signing secrets, sandbox env):
 * AES-256-GCM with the instance key from HANGAR_SECRET_KEY, or a key generated once under the
 * data dir (mode 0600). Sealed form: v1.<iv>.<tag>.<ciphertext>, base64url parts.
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

export function seal(plaintext: string): string {
	const iv = crypto.randomBytes(12);
	const cipher = crypto.createCipheriv('aes-256-gcm', instanceKey(), iv);
	const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
	return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

/** ChaCha20-Poly1305 sealing (deployment env vars, as the contract specifies); form v2.<nonce>.<tag>.<ciphertext>. */
export function sealChaCha(plaintext: string): string {
	const iv = crypto.randomBytes(12);
	const cipher = crypto.createCipheriv('chacha20-poly1305', instanceKey(), iv, { authTagLength: 16 });
	const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
	return ['v2', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export function unseal(sealed: string): string {
	const [v, iv, tag, ct] = sealed.split('.');
	if ((v !== 'v1' && v !== 'v2') || !iv || !tag || ct === undefined) throw new Error('unknown sealed format');
	const decipher =
		v === 'v2'
			? crypto.createDecipheriv('chacha20-poly1305', instanceKey(), Buffer.from(iv, 'base64url'), { authTagLength: 16 })
			: crypto.createDecipheriv('aes-256-gcm', instanceKey(), Buffer.from(iv, 'base64url'));
	decipher.setAuthTag(Buffer.from(tag, 'base64url'));
	return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
