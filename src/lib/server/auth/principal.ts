import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { db } from '../db';
import { apiKey, member, organization, type MemberRole } from '../db/schema';
import { ApiError, insufficientScope, invalidToken, notFound } from '../http/errors';
import { isUuid } from '../http/validate';
import { sha256Hex } from './crypto';
import { hasScope, type Scope } from './scopes';
import { bearerTokenBody, validateSessionToken } from './session';

/** Who is calling, resolved once per request by hooks.server.ts. */
export interface Principal {
	kind: 'user' | 'api_key' | 'ticket';
	organizationId: string;
	userId: string | null;
	apiKeyId: string | null;
	/** The member role for people; API keys act with the scopes they carry. */
	role: MemberRole | null;
	scopes: readonly string[];
	rateLimitRpm: number | null;
	label: string;
	isInstanceAdmin: boolean;
	/** For tickets: the one resource the ticket opens. */
	resourceId?: string | null;
}

export function requireScope(p: Principal, scope: Scope): void {
	if (!hasScope(p.scopes, scope)) throw insufficientScope(scope);
}

/** Admin actions: owners and admins; API keys need the given scope. */
export function requireAdmin(p: Principal, scope: Scope): void {
	if (p.kind === 'api_key') return requireScope(p, scope);
	if (p.role !== 'owner' && p.role !== 'admin') {
		throw new ApiError(403, 'FORBIDDEN', 'only organization owners and admins may do this');
	}
}

/** The organization a person acts in: the X-MIOSA-Tenant header (id or slug) or their first membership. */
export async function membershipFor(userId: string, tenant: string | null) {
	const rows = await db
		.select({ organizationId: member.organizationId, role: member.role, slug: organization.slug })
		.from(member)
		.innerJoin(organization, eq(member.organizationId, organization.id))
		.where(
			and(
				eq(member.userId, userId),
				tenant ? (isUuid(tenant) ? eq(organization.id, tenant) : eq(organization.slug, tenant)) : sql`true`
			)
		)
		.orderBy(asc(member.createdAt))
		.limit(1);
	return rows[0] ?? null;
}

const lastUsedWrites = new Map<string, number>();

/** Resolves `Authorization: Bearer …` (an msk_ API key or an hst_ user token). */
export async function authenticateBearer(value: string, tenant: string | null): Promise<Principal> {
	if (value.startsWith('msk_')) {
		const [key] = await db
			.select()
			.from(apiKey)
			.where(and(eq(apiKey.keyHash, sha256Hex(value)), isNull(apiKey.revokedAt)));
		if (!key) throw invalidToken('invalid or revoked API key');
		if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw invalidToken('API key expired');
		// last_used_at at most once a minute per key, off the request path.
		const now = Date.now();
		if ((lastUsedWrites.get(key.id) ?? 0) < now - 60_000) {
			lastUsedWrites.set(key.id, now);
			db.update(apiKey)
				.set({ lastUsedAt: new Date(now) })
				.where(eq(apiKey.id, key.id))
				.catch((e) => console.error('last_used_at update failed', e));
		}
		return {
			kind: 'api_key',
			organizationId: key.organizationId,
			userId: key.createdBy,
			apiKeyId: key.id,
			role: null,
			scopes: key.scopes,
			rateLimitRpm: key.rateLimitRpm,
			label: `api_key:${key.prefix}`,
			isInstanceAdmin: false
		};
	}
	const body = bearerTokenBody(value);
	if (!body) throw invalidToken('unrecognised bearer token');
	const { user } = await validateSessionToken(body, 'bearer');
	if (!user) throw invalidToken('invalid or expired token');
	return userPrincipal(user, tenant);
}

export async function userPrincipal(
	user: { id: string; email: string; isInstanceAdmin: boolean },
	tenant: string | null
): Promise<Principal> {
	const m = await membershipFor(user.id, tenant);
	if (!m) {
		if (tenant) throw notFound('organization');
		throw new ApiError(403, 'FORBIDDEN', 'this account belongs to no organization');
	}
	return {
		kind: 'user',
		organizationId: m.organizationId,
		userId: user.id,
		apiKeyId: null,
		role: m.role,
		scopes: ['*'],
		rateLimitRpm: null,
		label: user.email,
		isInstanceAdmin: user.isInstanceAdmin
	};
}

