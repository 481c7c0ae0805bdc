import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, text, timestamp, uuid, boolean, uniqueIndex } from 'drizzle-orm/pg-core';
import { organization, user } from './accounts';
import { host, project, workspace } from './platform';
import { sandbox } from './sandboxes';

/** A snapshot of a sandbox's writable layer (and, where supported, its processes). */
export const snapshot = pgTable(
	'snapshot',
	{
		id: uuid().primaryKey().defaultRandom(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid().references(() => workspace.id, { onDelete: 'set null' }),
		projectId: uuid().references(() => project.id, { onDelete: 'set null' }),
		/** The sandbox it was taken from; kept after that sandbox is destroyed. */
		sandboxId: uuid().references(() => sandbox.id, { onDelete: 'set null' }),
		/** Where its content lives (snapshots are stored on the host that took them). */
		hostId: uuid().references(() => host.id, { onDelete: 'set null' }),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		templateId: text().notNull(),
		size: text().notNull(),
		/** creating → ready | failed; deleted when removed. */
		status: text().notNull().default('creating'),
		/** 'filesystem' (writable layer) or 'filesystem+memory' (processes too, via CRIU). */
		kind: text().notNull().default('filesystem'),
		comment: text(),
		sizeBytes: bigint({ mode: 'number' }),
		contentHash: text(),
		error: text(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		readyAt: timestamp({ withTimezone: true }),
		deletedAt: timestamp({ withTimezone: true })
	},
	(t) => [index('snapshot_org_idx').on(t.organizationId, t.createdAt), index('snapshot_sandbox_idx').on(t.sandboxId)]
);
export type Snapshot = typeof snapshot.$inferSelect;

/** A port of a sandbox served at a preview URL. */
export const preview = pgTable(
	'preview',
	{
		id: text().primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		sandboxId: uuid()
			.notNull()
			.references(() => sandbox.id, { onDelete: 'cascade' }),
		port: integer().notNull(),
		/** private: the org's dashboard session or a token; public: anyone with the URL. */
		visibility: text().notNull().default('private'),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		deletedAt: timestamp({ withTimezone: true })
	},
	(t) => [
		uniqueIndex('preview_sandbox_port_idx').on(t.sandboxId, t.port).where(sql`${t.deletedAt} is null`),
		index('preview_org_idx').on(t.organizationId)
	]
);
export type Preview = typeof preview.$inferSelect;

/** Revocable share tokens (`miosa_pv_…`) for a preview; stored hashed. */
export const previewShare = pgTable(
	'preview_share',
	{
		id: uuid().primaryKey().defaultRandom(),
		previewId: text()
			.notNull()
			.references(() => preview.id, { onDelete: 'cascade' }),
		tokenHash: text().notNull(),
		tokenPrefix: text().notNull(),
		expiresAt: timestamp({ withTimezone: true }).notNull(),
		revokedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		active: boolean().notNull().default(true)
	},
	(t) => [uniqueIndex('preview_share_token_idx').on(t.tokenHash), index('preview_share_preview_idx').on(t.previewId)]
);
export type PreviewShare = typeof previewShare.$inferSelect;
