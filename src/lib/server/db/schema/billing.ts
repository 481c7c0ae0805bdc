import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organization, user } from './accounts';

/**
 * A stretch of time a resource ran at one size: opened when it starts running, closed when it
 * stops (pause, destroy, error). The meter turns segments into per-minute usage records.
 */
export const usageSegment = pgTable(
	'usage_segment',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid(),
		projectId: uuid(),
		externalWorkspaceId: text(),
		externalProjectId: text(),
		externalUserId: text(),
		/** sandbox | computer | runtime | build | snapshot_storage | artifact_storage */
		resourceType: text().notNull(),
		resourceId: text().notNull(),
		hostId: uuid(),
		size: text(),
		cpuCount: integer().notNull().default(0),
		memoryMb: integer().notNull().default(0),
		/** For storage dimensions: bytes held during the segment. */
		storageBytes: bigint({ mode: 'number' }).notNull().default(0),
		startedAt: timestamp({ withTimezone: true }).notNull(),
		endedAt: timestamp({ withTimezone: true }),
		/** Usage has been recorded up to here (exclusive). */
		meteredUntil: timestamp({ withTimezone: true }).notNull()
	},
	(t) => [
		index('usage_segment_open_idx').on(t.endedAt, t.meteredUntil),
		index('usage_segment_resource_idx').on(t.resourceId),
		index('usage_segment_org_idx').on(t.organizationId, t.startedAt)
	]
);
export type UsageSegment = typeof usageSegment.$inferSelect;

/** Metered usage per segment, minute and dimension; quantities in milli-units (integers). */
export const usageRecord = pgTable(
	'usage_record',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		segmentId: uuid().notNull(),
		workspaceId: uuid(),
		projectId: uuid(),
		externalWorkspaceId: text(),
		externalProjectId: text(),
		externalUserId: text(),
		resourceType: text().notNull(),
		resourceId: text().notNull(),
		/** vcpu_seconds | memory_gb_seconds | sandbox_seconds | computer_seconds | storage_gb_hours … */
		dimension: text().notNull(),
		/** Start of the minute this record covers. */
		minute: timestamp({ withTimezone: true }).notNull(),
		/** Quantity ×1000 (e.g. 60 000 = 60 vCPU-seconds). */
		quantityMilli: bigint({ mode: 'number' }).notNull(),
		/** Credits charged, in credit micro-units. */
		creditsMicro: bigint({ mode: 'number' }).notNull(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		// The meter may run twice over the same minute (restart, two replicas): never double.
		uniqueIndex('usage_record_unique_idx').on(t.segmentId, t.minute, t.dimension),
		index('usage_record_org_minute_idx').on(t.organizationId, t.minute)
	]
);
export type UsageRecord = typeof usageRecord.$inferSelect;

/** Append-only credit ledger; amounts in credit micro-units (+ grant/purchase, − spend/expiry). */
export const creditTransaction = pgTable(
	'credit_transaction',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		/** grant | purchase | spend | expiry | adjustment */
		kind: text().notNull(),
		amountMicro: bigint({ mode: 'number' }).notNull(),
		balanceAfterMicro: bigint({ mode: 'number' }).notNull(),
		description: text(),
		/** Makes a transaction idempotent (e.g. one spend per org and minute). */
		reference: text(),
		/** For grants and purchases: when what is left of them expires. */
		expiresAt: timestamp({ withTimezone: true }),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		uniqueIndex('credit_txn_reference_idx').on(t.organizationId, t.reference).where(sql`${t.reference} is not null`),
		index('credit_txn_org_idx').on(t.organizationId, t.id)
	]
);
export type CreditTransaction = typeof creditTransaction.$inferSelect;

/** The cached balance: updated in the same transaction as each ledger row (row-locked). */
export const creditBalance = pgTable('credit_balance', {
	organizationId: uuid()
		.primaryKey()
		.references(() => organization.id, { onDelete: 'cascade' }),
	balanceMicro: bigint({ mode: 'number' }).notNull().default(0),
	lastTransactionId: bigint({ mode: 'number' }),
	/** Set when resources were paused for lack of credits (cleared when credits arrive). */
	exhaustedAt: timestamp({ withTimezone: true }),
	updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
});

/** Limits per external user of an organization, enforced when resources are created. */
export const quota = pgTable(
	'quota',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		externalUserId: text().notNull(),
		maxSandboxes: integer(),
		maxConcurrent: integer(),
		maxStorageBytes: bigint({ mode: 'number' }),
		maxCreditSpendMicro: bigint({ mode: 'number' }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('quota_org_user_idx').on(t.organizationId, t.externalUserId)]
);
export type Quota = typeof quota.$inferSelect;

/** Budget alerts: when spend in the period crosses the threshold, an event (and webhooks) fire once. */
export const budgetAlert = pgTable(
	'budget_alert',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		name: text().notNull(),
		/** Threshold in credit micro-units of spend within `period`. */
		thresholdMicro: bigint({ mode: 'number' }).notNull(),
		/** day | month */
		period: text().notNull().default('month'),
		lastTriggeredPeriod: text(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('budget_alert_org_idx').on(t.organizationId)]
);
export type BudgetAlert = typeof budgetAlert.$inferSelect;
