import { count, eq, sql } from 'drizzle-orm';
import { db } from '../db';
import { member, organization, project, user, workspace, type User } from '../db/schema';
import { env } from '../env';
import { ApiError, validationError } from '../http/errors';
import { dummyHash, hashPassword, verifyPassword } from '../auth/password';
import { slugify, slugSuffix } from '../slug';
import { openAccount } from '../billing/ledger';
import { z } from 'zod';

export const signupSchema = z.object({
	email: z.string().trim().toLowerCase().email().max(254),
	password: z.string().min(8, 'at least 8 characters').max(256),
	name: z.string().trim().max(100).optional(),
	organization_name: z.string().trim().min(1).max(100).optional()
});
export type SignupInput = z.infer<typeof signupSchema>;

export const loginSchema = z.object({
	email: z.string().trim().toLowerCase().email(),
	password: z.string().min(1).max(256)
});

/**
 * Creates a user with an organization, its default workspace and project, and makes the user
 * its owner. The first user of the instance always may sign up and becomes instance admin.
 */
export async function signUp(input: SignupInput): Promise<{ user: User; organizationId: string }> {
	const passwordHash = await hashPassword(input.password);
	return db.transaction(async (tx) => {
		// Serialise signups so "the first user" is decided once.
		await tx.execute(sql`select pg_advisory_xact_lock(7261002)`);
		const [{ n }] = await tx.select({ n: count() }).from(user);
		const first = n === 0;
		if (!first && env.HANGAR_SIGNUP === 'closed') {
			throw new ApiError(403, 'SIGNUP_CLOSED', 'sign-up is closed on this instance; ask an administrator for an invitation');
		}
		const existing = await tx.select({ id: user.id }).from(user).where(sql`lower(${user.email}) = ${input.email}`);
		if (existing.length) throw validationError('this email is already registered', { email: ['already registered'] });

		const [u] = await tx
			.insert(user)
			.values({ email: input.email, name: input.name ?? '', passwordHash, isInstanceAdmin: first })
			.returning();
		const orgName = input.organization_name ?? (input.name ? `${input.name}'s organization` : input.email.split('@')[0]);
		const [org] = await tx
			.insert(organization)
			.values({ name: orgName, slug: `${slugify(orgName)}-${slugSuffix()}` })
			.returning();
		await tx.insert(member).values({ organizationId: org.id, userId: u.id, role: 'owner' });
		const [ws] = await tx
			.insert(workspace)
			.values({ organizationId: org.id, name: 'Default', slug: 'default', isDefault: true })
			.returning();
		await tx
			.insert(project)
			.values({ organizationId: org.id, workspaceId: ws.id, name: 'Default', slug: 'default', isDefault: true });
		// Credits account with the starting grant (HANGAR_STARTING_CREDITS), in the same transaction.
		await openAccount(tx, org.id);
		return { user: u, organizationId: org.id };
	});
}

/** Checks credentials; the same work is done for unknown emails so timing reveals nothing. */
export async function verifyCredentials(email: string, password: string): Promise<User | null> {
	const [u] = await db.select().from(user).where(sql`lower(${user.email}) = ${email.toLowerCase()}`);
	if (!u) {
		await verifyPassword(await dummyHash(), password);
		return null;
	}
	return (await verifyPassword(u.passwordHash, password)) ? u : null;
}

export async function getUser(id: string): Promise<User | null> {
	const [u] = await db.select().from(user).where(eq(user.id, id));
	return u ?? null;
}

export async function organizationsOf(userId: string) {
	return db
		.select({ id: organization.id, name: organization.name, slug: organization.slug, role: member.role })
		.from(member)
		.innerJoin(organization, eq(member.organizationId, organization.id))
		.where(eq(member.userId, userId))
		.orderBy(member.createdAt);
}

export async function getOrganization(id: string) {
	const [o] = await db.select().from(organization).where(eq(organization.id, id));
	return o ?? null;
}

export function toUserDto(u: User) {
	return { id: u.id, email: u.email, name: u.name, is_instance_admin: u.isInstanceAdmin, created_at: u.createdAt.toISOString() };
}
