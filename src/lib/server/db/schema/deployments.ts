import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organization, user } from './accounts';
import { project, workspace } from './platform';
import { sandbox } from './sandboxes';

/** Build and runtime settings a deployment keeps as defaults and each version freezes. */
export interface DeployConfig {
	kind: 'auto' | 'static' | 'dynamic';
	install_command: string | null;
	build_command: string | null;
	run_command: string | null;
	port: number | null;
	health_check_path: string | null;
	/** Static: the directory (relative to /workspace) whose files are served. */
	output_path: string | null;
	/** The directory frozen as the source (default /workspace). */
	source_path: string | null;
	/** Paths (tar --exclude patterns) left out of the source snapshot. */
	exclude: string[];
	/** Static: unknown paths answer /index.html (client-side routing). */
	spa: boolean;
	/** Sandbox template for the builder and the runtime (defaults to the source sandbox's). */
	template_id: string | null;
}

/** The stable product object: a name, a URL, and which version each environment serves. */
export const deployment = pgTable(
	'deployment',
	{
		id: text().primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid()
			.notNull()
			.references(() => workspace.id, { onDelete: 'cascade' }),
		projectId: uuid()
			.notNull()
			.references(() => project.id, { onDelete: 'cascade' }),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		name: text().notNull(),
		/** The host label: `<slug>.<org slug>.apps.<base>`; unique in the organization. */
		slug: text().notNull(),
		sourceType: text().notNull().default('sandbox'),
		/** pending (never published) → building → running | failed; stopped when deleted. */
		state: text().notNull().default('pending'),
		config: jsonb().$type<DeployConfig>().notNull(),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		externalWorkspaceId: text(),
		externalProjectId: text(),
		externalUserId: text(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		deletedAt: timestamp({ withTimezone: true })
	},
	(t) => [
		uniqueIndex('deployment_org_slug_idx').on(t.organizationId, t.slug).where(sql`${t.deletedAt} is null`),
		index('deployment_org_idx').on(t.organizationId, t.createdAt)
	]
);
export type Deployment = typeof deployment.$inferSelect;

/** One publish: immutable once built (source, artifact, build log, runtime config and env frozen). */
export const deploymentVersion = pgTable(
	'deployment_version',
	{
		id: text().primaryKey(),
		deploymentId: text()
			.notNull()
			.references(() => deployment.id, { onDelete: 'cascade' }),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		workspaceId: uuid().references(() => workspace.id, { onDelete: 'set null' }),
		projectId: uuid().references(() => project.id, { onDelete: 'set null' }),
		versionNumber: integer().notNull(),
		/** The environment it was published to (promotion may serve it in others too). */
		environment: text().notNull().default('production'),
		/** static | dynamic once known (auto is resolved by the build). */
		kind: text().notNull(),
		/** created → building → ready | failed; archived (one-way). */
		state: text().notNull().default('created'),
		sourceSandboxId: uuid().references(() => sandbox.id, { onDelete: 'set null' }),
		templateId: text().notNull(),
		sourceSha256: text(),
		sourceBytes: bigint({ mode: 'number' }),
		sourceFiles: integer(),
		buildId: text().notNull(),
		builderSandboxId: uuid(),
		config: jsonb().$type<DeployConfig>().notNull(),
		/** The environment's variables at publish time, sealed; keys and keyed digests in envDigest. */
		envSealed: text(),
		envDigest: jsonb().$type<Record<string, string>>().notNull().default({}),
		releaseId: text(),
		artifactSha256: text(),
		artifactManifest: jsonb().$type<{ files: number; total_bytes: number; entrypoint: string | null }>(),
		buildLog: text().notNull().default(''),
		error: text(),
		promote: boolean().notNull().default(true),
		/** The replica running the build and its last heartbeat (a dead replica's builds fail). */
		buildOwner: text(),
		buildHeartbeatAt: timestamp({ withTimezone: true }),
		buildStartedAt: timestamp({ withTimezone: true }),
		buildFinishedAt: timestamp({ withTimezone: true }),
		createdBy: uuid().references(() => user.id, { onDelete: 'set null' }),
		/** 'user' | 'api_key' and its id, for the history. */
		createdVia: text(),
		metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
		externalWorkspaceId: text(),
		externalProjectId: text(),
		externalUserId: text(),
		promotedAt: timestamp({ withTimezone: true }),
		archivedAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		uniqueIndex('deployment_version_number_idx').on(t.deploymentId, t.versionNumber),
		index('deployment_version_state_idx').on(t.state)
	]
);
export type DeploymentVersion = typeof deploymentVersion.$inferSelect;

/** The built artifact a version points at (content-addressed; one per version). */
export const deploymentRelease = pgTable(
	'deployment_release',
	{
		id: text().primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		deploymentId: text()
			.notNull()
			.references(() => deployment.id, { onDelete: 'cascade' }),
		versionId: text()
			.notNull()
			.references(() => deploymentVersion.id, { onDelete: 'cascade' }),
		kind: text().notNull(),
		sha256: text().notNull(),
		sizeBytes: bigint({ mode: 'number' }).notNull(),
		startCommand: text(),
		port: integer(),
		healthCheckPath: text(),
		buildDurationMs: integer(),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('deployment_release_version_idx').on(t.versionId), index('deployment_release_sha_idx').on(t.sha256)]
);
export type DeploymentRelease = typeof deploymentRelease.$inferSelect;

/** A stored blob (source snapshot or release artifact), kept once per sha256. */
export const deploymentBlob = pgTable('deployment_blob', {
	sha256: text().primaryKey(),
	/** source | static | dynamic */
	kind: text().notNull(),
	sizeBytes: bigint({ mode: 'number' }).notNull(),
	createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
	/** Set when garbage collection removed the bytes (the row stays for audit). */
	deletedAt: timestamp({ withTimezone: true })
});
export type DeploymentBlob = typeof deploymentBlob.$inferSelect;

/** Which version an environment of a deployment serves. */
export const deploymentRoute = pgTable(
	'deployment_route',
	{
		deploymentId: text()
			.notNull()
			.references(() => deployment.id, { onDelete: 'cascade' }),
		environment: text().notNull(),
		versionId: text()
			.notNull()
			.references(() => deploymentVersion.id),
		/** The version served before (the default rollback target). */
		previousVersionId: text(),
		promotedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		promotedBy: uuid().references(() => user.id, { onDelete: 'set null' })
	},
	(t) => [primaryKey({ columns: [t.deploymentId, t.environment] })]
);
export type DeploymentRoute = typeof deploymentRoute.$inferSelect;

/** Environment variables per deployment and environment, sealed at rest. */
export const deploymentEnvVar = pgTable(
	'deployment_env_var',
	{
		id: uuid().primaryKey().defaultRandom(),
		deploymentId: text()
			.notNull()
			.references(() => deployment.id, { onDelete: 'cascade' }),
		environment: text().notNull().default('production'),
		key: text().notNull(),
		valueSealed: text().notNull(),
		isSecret: boolean().notNull().default(false),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow()
	},
	(t) => [uniqueIndex('deployment_env_key_idx').on(t.deploymentId, t.environment, t.key)]
);
export type DeploymentEnvVar = typeof deploymentEnvVar.$inferSelect;

/** A sandbox serving a dynamic version. */
export const deploymentInstance = pgTable(
	'deployment_instance',
	{
		id: text().primaryKey(),
		organizationId: uuid()
			.notNull()
			.references(() => organization.id, { onDelete: 'cascade' }),
		deploymentId: text()
			.notNull()
			.references(() => deployment.id, { onDelete: 'cascade' }),
		versionId: text()
			.notNull()
			.references(() => deploymentVersion.id, { onDelete: 'cascade' }),
		sandboxId: uuid(),
		/** provisioning → starting → healthy ⇄ unhealthy; error; stopped. */
		state: text().notNull().default('provisioning'),
		port: integer().notNull(),
		pid: integer(),
		restarts: integer().notNull().default(0),
		failures: integer().notNull().default(0),
		lastError: text(),
		lastHealthAt: timestamp({ withTimezone: true }),
		createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
		stoppedAt: timestamp({ withTimezone: true })
	},
	(t) => [index('deployment_instance_version_idx').on(t.versionId, t.state)]
);
export type DeploymentInstance = typeof deploymentInstance.$inferSelect;
