import { and, count, desc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { db } from '../db';
import { apiKey, type ApiKey } from '../db/schema';
import { randomToken, sha256Hex } from '../auth/crypto';
import { SCOPES, isScope } from '../auth/scopes';
import { notFound } from '../http/errors';
import type { Page } from '../http/pagination';

export const apiKeyCreateSchema = z.object({
	name: z.string().trim().min(1).max(100),
	scopes: z
		.array(z.string().refine((s) => s === '*' || isScope(s), { message: `unknown scope; known: ${SCOPES.join(', ')}, *` }))
		.min(1)
		.optional(),
	expires_at: z.string().datetime({ offset: true }).optional().nullable(),
	expires_in_seconds: z.number().int().positive().max(5 * 365 * 86400).optional(),
	key_type: z.enum(['user', 'admin', 'platform']).optional(),
	purpose: z.enum(['api', 'optimal']).optional(),
	rate_limit_rpm: z.number().int().min(1).max(100_000).optional()
});
export type ApiKeyCreate = z.infer<typeof apiKeyCreateSchema>;

export function toApiKeyDto(k: ApiKey) {
	return {
		id: k.id,
		tenant_id: k.organizationId,
		name: k.name,
		prefix: k.prefix,
		key_prefix: k.prefix,
		scopes: k.scopes,
		key_type: k.keyType,
		key_purpose: k.purpose,
		rate_limit_rpm: k.rateLimitRpm,
		status: k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt.getTime() <= Date.now() ? 'expired' : 'active',
		last_used_at: k.lastUsedAt?.toISOString() ?? null,
		expires_at: k.expiresAt?.toISOString() ?? null,
		revoked_at: k.revokedAt?.toISOString() ?? null,
		created_at: k.createdAt.toISOString()
	};
}

/** Mints a key; the plaintext is returned once and only its SHA-256 is stored. */
export async function createApiKey(orgId: string, createdBy: string | null, input: ApiKeyCreate) {
	const plaintext = `msk_live_${randomToken(24)}`;
	const expiresAt = input.expires_at
		? new Date(input.expires_at)
		: input.expires_in_seconds
			? new Date(Date.now() + input.expires_in_seconds * 1000)
			: null;
	const [row] = await db
		.insert(apiKey)
		.values({
			organizationId: orgId,
			createdBy,
			name: input.name,
			prefix: plaintext.slice(0, 12),
			keyHash: sha256Hex(plaintext),
			scopes: input.scopes ?? ['*'],
			keyType: input.key_type ?? 'user',
			purpose: input.purpose ?? 'api',
			rateLimitRpm: input.rate_limit_rpm ?? 600,
			expiresAt
		})
		.returning();
	return { row, plaintext };
}

export async function listApiKeys(orgId: string, page: Page, includeRevoked = false) {
	const where = includeRevoked ? eq(apiKey.organizationId, orgId) : and(eq(apiKey.organizationId, orgId), isNull(apiKey.revokedAt));
	const [rows, [{ n }]] = await Promise.all([
		db.select().from(apiKey).where(where).orderBy(desc(apiKey.createdAt), desc(apiKey.id)).limit(page.pageSize).offset(page.offset),
		db.select({ n: count() }).from(apiKey).where(where)
	]);
	return { rows, total: n };
}

/** Revokes at once: the next request with the key answers 401. */
export async function revokeApiKey(orgId: string, id: string): Promise<ApiKey> {
	const [row] = await db
		.update(apiKey)
		.set({ revokedAt: new Date() })
		.where(and(eq(apiKey.organizationId, orgId), eq(apiKey.id, id), isNull(apiKey.revokedAt)))
		.returning();
	if (!row) throw notFound('api key');
	return row;
}
