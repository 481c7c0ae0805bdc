import { z } from 'zod';
import { metadataSchema } from '../http/validate';
import { ownershipSchema } from '../workspaces/service';

const command = z.string().trim().min(1).max(4000);
const relPath = z
	.string()
	.trim()
	.max(500)
	.refine((p) => !p.split('/').includes('..'), 'must not contain ..');

export const deploySlug = z
	.string()
	.trim()
	.toLowerCase()
	.regex(/^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/, 'lowercase letters, digits and single hyphens, 1–48 characters')
	.refine((s) => !s.includes('--'), 'must not contain "--" (it separates the environment in URLs)');

export const environmentName = z
	.string()
	.trim()
	.min(1)
	.max(63)
	.regex(/^[a-z0-9][a-z0-9/_.-]*$/i, 'letters, digits, /, _, . and -')
	.refine((s) => s === 'production' || /[a-z0-9]/i.test(s), 'invalid environment');

/** Build and runtime settings (deployment defaults, overridable per publish). */
export const configFields = z.object({
	kind: z.enum(['auto', 'static', 'dynamic']).optional(),
	install_command: command.nullable().optional(),
	build_command: command.nullable().optional(),
	run_command: command.nullable().optional(),
	start_command: command.nullable().optional(),
	port: z.coerce.number().int().min(1).max(65535).nullable().optional(),
	health_check_path: z
		.string()
		.trim()
		.max(500)
		.regex(/^\//, 'must start with /')
		.nullable()
		.optional(),
	output_path: relPath.nullable().optional(),
	exclude: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
	spa: z.boolean().optional(),
	template_id: z.string().min(1).max(100).nullable().optional()
});
export type ConfigFields = z.infer<typeof configFields>;

export const deploymentCreateSchema = configFields
	.extend({
		name: z.string().trim().min(1).max(100),
		slug: deploySlug.optional(),
		source_type: z.literal('sandbox').optional(),
		repo_url: z.string().optional(),
		metadata: metadataSchema.optional()
	})
	.merge(ownershipSchema)
	.passthrough();

export const deploymentUpdateSchema = configFields.extend({
	name: z.string().trim().min(1).max(100).optional(),
	metadata: metadataSchema.optional()
});

export const publishSchema = configFields
	.extend({
		source_sandbox_id: z.string().min(1).max(100).optional(),
		sandbox_id: z.string().min(1).max(100).optional(),
		environment: environmentName.optional(),
		promote: z.boolean().optional(),
		/** Wait for the build (up to this many seconds, max 900) and answer with the final state. */
		wait: z.union([z.boolean(), z.coerce.number().int().min(0).max(900)]).optional(),
		metadata: metadataSchema.optional(),
		entrypoint: z.string().max(500).optional()
	})
	.merge(ownershipSchema)
	.passthrough();

/** POST /sandboxes/{id}/deploy (the SDK's publishFromSandbox / sandbox.deploy bridge). */
export const sandboxDeploySchema = publishSchema.extend({
	name: z.string().trim().min(1).max(100).optional(),
	deployment_id: z.string().min(1).max(100).optional(),
	type: z.enum(['static', 'dynamic', 'server', 'auto']).optional(),
	mode: z.enum(['static', 'dynamic', 'server', 'auto']).optional(),
	deployment_type: z.string().optional()
});

export const rollbackSchema = z.object({
	version_id: z.string().min(1).max(100).optional(),
	environment: environmentName.optional()
});

export const promoteSchema = z.object({ environment: environmentName.optional() });

export const envSetSchema = z
	.object({
		env: z.record(z.string(), z.string().max(64 * 1024)).optional(),
		vars: z.array(z.object({ key: z.string(), value: z.string().max(64 * 1024), is_secret: z.boolean().optional() })).max(500).optional(),
		key: z.string().optional(),
		value: z.string().max(64 * 1024).optional(),
		is_secret: z.boolean().optional(),
		environment: environmentName.optional()
	})
	.refine((v) => v.env || v.vars || (v.key !== undefined && v.value !== undefined), { message: 'send env {KEY: value}, vars [{key, value}] or key + value' });

export const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export const versionListQuery = z.object({
	state: z.enum(['created', 'building', 'ready', 'failed', 'archived']).optional(),
	environment: z.string().optional(),
	workspace_id: z.string().uuid().optional(),
	external_workspace_id: z.string().optional(),
	external_user_id: z.string().optional(),
	limit: z.coerce.number().int().min(1).max(100).default(20),
	cursor: z.string().max(200).optional()
});

export const deploymentListQuery = z.object({
	project_id: z.string().uuid().optional(),
	workspace_id: z.string().uuid().optional(),
	state: z.string().optional(),
	external_workspace_id: z.string().optional(),
	external_project_id: z.string().optional(),
	external_user_id: z.string().optional(),
	limit: z.coerce.number().int().min(1).max(100).default(20),
	cursor: z.string().max(200).optional()
});
