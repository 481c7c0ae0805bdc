import { sql } from 'drizzle-orm';
import {
	bigserial,
	index,
	integer,
	jsonb,
	pgTable,
	text,
	timestamp,
	uniqueIndex,
	uuid,
	boolean,
	pgEnum
} from 'drizzle-orm/pg-core';
import { organization, user } from './accounts';

export const workspace = pgTable(
	'workspace',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		name: text().notNull(),
		slug: text().notNull(),
		description: text(),
		externalWorkspaceId: text(),
		isDefault: boolean().notNull().default(false),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		uniqueIndex('workspace_org_slug_idx').on(t.organizationId, t.slug),
		uniqueIndex('workspace_org_external_idx')
			.on(t.organizationId, t.externalWorkspaceId)
			.where(sql`${t.externalWorkspaceId} is not null`),
		uniqueIndex('workspace_org_default_idx').on(t.organizationId).where(sql`${t.isDefault}`)
	]
);
export type Workspace = typeof workspace.$inferSelect;

export const project = pgTable(
	'project',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid()
			.notNull()
			.references(() => workspace.id, { onDelete: 'cascade' }),
		name: text().notNull(),
		slug: text().notNull(),
		description: text(),
		externalProjectId: text(),
		isDefault: boolean().notNull().default(false),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		settings: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		uniqueIndex('project_ws_slug_idx').on(t.workspaceId, t.slug),
		uniqueIndex('project_ws_external_idx')
			.on(t.workspaceId, t.externalProjectId)
			.where(sql`${t.externalProjectId} is not null`),
		uniqueIndex('project_ws_default_idx').on(t.workspaceId).where(sql`${t.isDefault}`),
		index('project_org_idx').on(t.organizationId)
	]
);
export type Project = typeof project.$inferSelect;

export const apiKey = pgTable(
	'api_key',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		name: text().notNull(),
		/** The first 12 characters of the plaintext (msk_live_xxx), shown in lists. */
		prefix: text().notNull(),
		/** SHA-256 of the full key; the key is 256 bits of randomness, so a fast hash is sound. */
		keyHash: text().notNull(),
		scopes: text().array().notNull(),
		keyType: text().notNull().default('user'),
		purpose: text().notNull().default('api'),
		rateLimitRpm: integer().notNull().default(600),
		lastUsedAt: timestamp({ withTimezone: true }),
		expiresAt: timestamp({ withTimezone: true }),
		revokedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('api_key_hash_idx').on(t.keyHash), index('api_key_org_idx').on(t.organizationId)]
);
export type ApiKey = typeof apiKey.$inferSelect;

/** Short-lived single-use tickets (SSE, terminal, desktop); stored hashed. */
export const ticket = pgTable(
	'ticket',
	{
		id: text().primaryKey(),
		kind: text().notNull(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		/** JSON description of the principal the ticket stands for, and what it may open. */
		principal: jsonb().$type<Record<string, unknown>>().notNull(),
		resourceId: text(),
		expiresAt: timestamp({ withTimezone: true }).notNull(),
		usedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('ticket_expires_idx').on(t.expiresAt)]
);

export const idempotencyRecord = pgTable(
	'idempotency_record',
	{
		/** sha256(scope + key): the scope is the credential's principal, so keys never collide across tenants. */
		id: text().primaryKey(),
		requestHash: text().notNull(),
		method: text().notNull(),
		path: text().notNull(),
		/** null while the first request is still running. */
		status: integer(),
		responseHeaders: jsonb().$type<Record<string, string>>(),
		responseBody: text(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		expiresAt: timestamp({ withTimezone: true }).notNull()
	},
	(t) => [index('idempotency_expires_idx').on(t.expiresAt)]
);

export const auditEvent = pgTable(
	'audit_event',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid(),
		actorType: text().notNull(),
		actorId: text(),
		actorLabel: text(),
		action: text().notNull(),
		category: text().notNull().default('resource'),
		resourceType: text(),
		resourceId: text(),
		status: text().notNull().default('success'),
		requestId: text(),
		ipAddress: text(),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('audit_org_id_idx').on(t.organizationId, t.id)]
);
export type AuditEvent = typeof auditEvent.$inferSelect;

export const hostStatus = pgEnum('host_status', ['pending', 'online', 'offline', 'draining', 'revoked']);
export type HostStatus = (typeof hostStatus.enumValues)[number];

export const host = pgTable(
	'host',
	{
		id: uuid().primaryKey().defaultRandom(),
		/** null: a shared host of the instance; otherwise a host an organization brought. */
		organizationId: uuid().references(() => organization.id, { onDelete: 'cascade' }),
		name: text().notNull(),
		keyHash: text().notNull(),
		keyPrefix: text().notNull(),
		status: hostStatus().notNull().default('pending'),
		draining: boolean().notNull().default(false),
		region: text().notNull().default('local'),
		labels: jsonb().$type<Record<string, string>>().notNull().default({}),
		drivers: text().array().notNull().default(sql`'{}'::text[]`),
		capacity: jsonb().$type<Record<string, number>>().notNull().default({}),
		usage: jsonb().$type<Record<string, number>>().notNull().default({}),
		templates: jsonb().$type<{ id: string; status: string }[]>().notNull().default([]),
		agentVersion: text(),
		isLocal: boolean().notNull().default(false),
		lastSeenAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('host_key_idx').on(t.keyHash)]
);
export type Host = typeof host.$inferSelect;
