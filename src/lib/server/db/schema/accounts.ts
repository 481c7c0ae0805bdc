import { sql } from 'drizzle-orm';
import { boolean, index, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const memberRole = pgEnum('member_role', ['owner', 'admin', 'member']);
export type MemberRole = (typeof memberRole.enumValues)[number];

export const user = pgTable(
	'user',
	{
		id: uuid().primaryKey().defaultRandom(),
		email: text().notNull(),
		name: text().notNull().default(''),
		passwordHash: text().notNull(),
		/** The first user of an instance administers it (hosts, signups). */
		isInstanceAdmin: boolean().notNull().default(false),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('user_email_lower_idx').on(sql`lower(${t.email})`)]
);
export type User = typeof user.$inferSelect;

/** Sessions as in the Lucia guide: the id is the SHA-256 of the token the client holds. */
export const session = pgTable(
	'session',
	{
		id: text().primaryKey(),
		userId: uuid()
			.notNull()
			.references(() => user.id, { onDelete: 'cascade' }),
		/** 'cookie' for the dashboard, 'bearer' for tokens minted by POST /auth/login. */
		kind: text().notNull().default('cookie'),
		expiresAt: timestamp({ withTimezone: true }).notNull(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('session_user_idx').on(t.userId)]
);
export type Session = typeof session.$inferSelect;

export const organization = pgTable(
	'organization',
	{
		id: uuid().primaryKey().defaultRandom(),
		name: text().notNull(),
		slug: text().notNull(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('organization_slug_idx').on(t.slug)]
);
export type Organization = typeof organization.$inferSelect;

export const member = pgTable(
	'member',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		userId: uuid()
			.notNull()
			.references(() => user.id, { onDelete: 'cascade' }),
		role: memberRole().notNull().default('member'),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('member_org_user_idx').on(t.organizationId, t.userId), index('member_user_idx').on(t.userId)]
);
export type Member = typeof member.$inferSelect;

/** Invitations: an email invited into an organization with a role; the token is stored hashed. */
export const invitation = pgTable(
	'invitation',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		email: text().notNull(),
		role: memberRole().notNull().default('member'),
		tokenHash: text().notNull(),
		invitedBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		expiresAt: timestamp({ withTimezone: true }).notNull(),
		acceptedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('invitation_token_idx').on(t.tokenHash), index('invitation_org_idx').on(t.organizationId)]
);
export type Invitation = typeof invitation.$inferSelect;
