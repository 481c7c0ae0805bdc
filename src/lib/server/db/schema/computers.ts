import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organization, user } from './accounts';
import { project, workspace } from './platform';
import { sandbox } from './sandboxes';

/**
 * A computer: a desktop that lives across start/stop. It runs in a sandbox (sandboxId, a sandbox
 * row with a desktop template); stop pauses that sandbox, start resumes it or boots a new one.
 * status: provisioning | active | stopped | error | destroyed ('paused' is derived from the sandbox).
 */
export const computer = pgTable(
	'computer',
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
		sandboxId: uuid().references(() => sandbox.id, { onDelete: 'set null' }),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		name: text().notNull(),
		slug: text().notNull(),
		status: text().notNull().default('provisioning'),
		templateType: text().notNull(),
		/** The agent template the sandbox runs (desktop-host, desktop). */
		templateId: text().notNull(),
		size: text().notNull(),
		cpuCount: integer().notNull(),
		memoryMb: integer().notNull(),
		region: text().notNull(),
		visibility: text().notNull().default('tenant'),
		screenWidth: integer().notNull().default(1280),
		screenHeight: integer().notNull().default(800),
		selectedApps: text().array().notNull().default(sql`'{}'::text[]`),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		/** Who holds desktop input: 'agent' (the API) or 'user' (a person in the live view). */
		controlHolder: text().notNull().default('agent'),
		controlBy: text(),
		controlSince: timestamp({ withTimezone: true }),
		externalWorkspaceId: text(),
		externalProjectId: text(),
		externalUserId: text(),
		lastError: text(),
		startedAt: timestamp({ withTimezone: true }),
		stoppedAt: timestamp({ withTimezone: true }),
		destroyedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('computer_org_created_idx').on(t.organizationId, t.createdAt), index('computer_sandbox_idx').on(t.sandboxId)]
);
export type Computer = typeof computer.$inferSelect;

/**
 * A service: a supervised long-running process on a computer. The control plane starts it with
 * the agent's `process.start`, and on `process.exited` (or a sweep that finds it gone) restarts it
 * per its policy with exponential backoff. desired: running | stopped (what the user asked for);
 * status: starting | running | backoff | stopped | failed | exited.
 */
export const computerService = pgTable(
	'computer_service',
	{
		id: uuid().primaryKey().defaultRandom(),
		computerId: uuid()
			.notNull()
			.references(() => computer.id, { onDelete: 'cascade' }),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		name: text().notNull(),
		command: text().notNull(),
		env: jsonb().$type<Record<string, string>>().notNull().default({}),
		cwd: text().notNull().default('/home/user'),
		/** always | on-failure | never (`no` is accepted as never). */
		restartPolicy: text().notNull().default('on-failure'),
		maxRestarts: integer().notNull().default(10),
		backoffMs: integer().notNull().default(1000),
		desired: text().notNull().default('running'),
		status: text().notNull().default('starting'),
		/** The sandbox the current run lives in, and its pid there. */
		sandboxId: uuid(),
		pid: integer(),
		restartCount: integer().notNull().default(0),
		lastExitCode: integer(),
		lastSignal: text(),
		lastError: text(),
		nextRestartAt: timestamp({ withTimezone: true }),
		startedAt: timestamp({ withTimezone: true }),
		exitedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('computer_service_name_idx').on(t.computerId, t.name), index('computer_service_pid_idx').on(t.sandboxId, t.pid)]
);
export type ComputerService = typeof computerService.$inferSelect;
