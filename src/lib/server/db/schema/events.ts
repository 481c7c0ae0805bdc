import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uuid, boolean, uniqueIndex } from 'drizzle-orm/pg-core';
import { organization } from './accounts';

/** The durable event log behind SSE streams (resume with Last-Event-ID) and webhooks. */
export const event = pgTable(
	'event',
	{
		id: bigserial({ mode: 'number' }).primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid(),
		type: text().notNull(),
		resourceType: text(),
		resourceId: text(),
		data: jsonb().$type<Record<string, unknown>>().notNull(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('event_org_id_idx').on(t.organizationId, t.id), index('event_resource_idx').on(t.resourceId, t.id)]
);
export type Event = typeof event.$inferSelect;

export const webhook = pgTable(
	'webhook',
	{
		id: text().primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		url: text().notNull(),
		description: text(),
		events: text().array().notNull(),
		/** The signing secret, encrypted with the instance key (it must be recoverable to sign). */
		secretSealed: text().notNull(),
		secretPrefix: text().notNull(),
		active: boolean().notNull().default(true),
		maxAttempts: integer().notNull().default(5),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('webhook_org_idx').on(t.organizationId)]
);
export type Webhook = typeof webhook.$inferSelect;

export const webhookDelivery = pgTable(
	'webhook_delivery',
	{
		id: uuid().primaryKey().defaultRandom(),
		webhookId: text()
			.notNull()
			.references(() => webhook.id, { onDelete: 'cascade' }),
		eventId: text().notNull(),
		eventType: text().notNull(),
		payload: text().notNull(),
		/** pending → succeeded | failed (retries exhausted). */
		status: text().notNull().default('pending'),
		attempts: integer().notNull().default(0),
		nextAttemptAt: timestamp({ withTimezone: true }),
		lastStatusCode: integer(),
		lastError: text(),
		deliveredAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		index('delivery_webhook_idx').on(t.webhookId, t.createdAt),
		index('delivery_due_idx').on(t.status, t.nextAttemptAt),
		// Every replica sees every event; the first to record a delivery wins.
		uniqueIndex('delivery_webhook_event_idx').on(t.webhookId, t.eventId)
	]
);
export type WebhookDelivery = typeof webhookDelivery.$inferSelect;
