import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organization, user } from './accounts';
import { host, project, workspace } from './platform';

export const sandboxState = pgEnum('sandbox_state', ['provisioning', 'running', 'paused', 'destroyed', 'error']);
export type SandboxState = (typeof sandboxState.enumValues)[number];

export const sandbox = pgTable(
	'sandbox',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid()
			.notNull()
			.references(() => workspace.id, { onDelete: 'cascade' }),
		projectId: uuid()
			.notNull()
			.references(() => project.id, { onDelete: 'cascade' }),
		hostId: uuid().references(() => host.id, { onDelete: 'set null' }),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		name: text(),
		slug: text(),
		state: sandboxState().notNull().default('provisioning'),
		templateId: text().notNull(),
		size: text().notNull().default('small'),
		cpuCount: integer().notNull(),
		memoryMb: integer().notNull(),
		diskMb: integer().notNull(),
		region: text().notNull(),
		persistent: boolean().notNull().default(false),
		alwaysOn: boolean().notNull().default(false),
		network: boolean().notNull().default(true),
		timeoutSec: integer().notNull(),
		idleTimeoutSec: integer(),
		/** Environment for every command, encrypted at rest (it may hold secrets). */
		envSealed: text(),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		tags: text().array().notNull().default(sql`'{}'::text[]`),
		externalWorkspaceId: text(),
		externalProjectId: text(),
		externalUserId: text(),
		bootPath: text(),
		bootMs: integer(),
		lastError: text(),
		expiresAt: timestamp({ withTimezone: true }),
		lastActivityAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		startedAt: timestamp({ withTimezone: true }),
		readyAt: timestamp({ withTimezone: true }),
		pausedAt: timestamp({ withTimezone: true }),
		destroyedAt: timestamp({ withTimezone: true }),
		/** Start of the current running segment (null unless running). */
		runningSince: timestamp({ withTimezone: true }),
		/** Seconds spent running before the current segment (pauses excluded). */
		runtimeSecBefore: integer().notNull().default(0),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		index('sandbox_org_created_idx').on(t.organizationId, t.createdAt),
		index('sandbox_state_idx').on(t.state),
		index('sandbox_host_idx').on(t.hostId),
		uniqueIndex('sandbox_ws_slug_idx')
			.on(t.workspaceId, t.slug)
			.where(sql`${t.slug} is not null and ${t.state} <> 'destroyed'`),
		index('sandbox_org_name_idx').on(t.organizationId, t.name)
	]
);
export type Sandbox = typeof sandbox.$inferSelect;
