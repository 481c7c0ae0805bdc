import { z } from 'zod';
import { metadataSchema, slugSchema } from '../http/validate';
import { ownershipSchema } from '../workspaces/service';

export const SIZES = {
	xs: { cpu_count: 1, memory_mb: 2048, disk_mb: 10240 },
	small: { cpu_count: 2, memory_mb: 4096, disk_mb: 10240 },
	medium: { cpu_count: 4, memory_mb: 8192, disk_mb: 20480 },
	large: { cpu_count: 8, memory_mb: 16384, disk_mb: 40960 },
	xl: { cpu_count: 16, memory_mb: 32768, disk_mb: 81920 }
} as const;
export type SizeName = keyof typeof SIZES;
export const sizeNames = Object.keys(SIZES) as [SizeName, ...SizeName[]];

const envSchema = z
	.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment names are letters, digits and _'), z.string().max(32_768))
	.refine((e) => Object.keys(e).length <= 200, 'at most 200 variables');
const tagsSchema = z.array(z.string().trim().min(1).max(64)).max(50);

export const MAX_TIMEOUT_SEC = 7 * 86_400;
export const DEFAULT_TIMEOUT_SEC = 300;

export const sandboxCreateSchema = ownershipSchema
	.extend({
		template_id: z.string().min(1).max(100).optional(),
		template: z.string().min(1).max(100).optional(),
		image: z.string().min(1).max(100).optional(),
		size: z.enum(sizeNames).optional(),
		cpu_count: z.number().int().positive().optional(),
		memory_mb: z.number().int().positive().optional(),
		disk_size_mb: z.number().int().positive().optional(),
		disk_mb: z.number().int().positive().optional(),
		name: z.string().trim().min(1).max(100).optional(),
		slug: slugSchema.optional(),
		region: z.string().min(1).max(50).optional(),
		persistent: z.boolean().optional(),
		always_on: z.boolean().optional(),
		timeout_sec: z.number().int().min(1).max(MAX_TIMEOUT_SEC).optional(),
		idle_timeout_sec: z.number().int().min(1).max(MAX_TIMEOUT_SEC).nullable().optional(),
		env: envSchema.optional(),
		metadata: metadataSchema.optional(),
		tags: tagsSchema.optional(),
		/** Hangar: outbound network (default true); false leaves only loopback. */
		network: z.boolean().optional(),
		labels: z.record(z.string(), z.string()).optional()
	})
	.passthrough()
	.superRefine((v, ctx) => {
		const given = [v.cpu_count, v.memory_mb, v.disk_size_mb].filter((x) => x !== undefined).length;
		if (given === 0) return;
		const match = Object.entries(SIZES).find(
			([, s]) =>
				(v.cpu_count === undefined || s.cpu_count === v.cpu_count) &&
				(v.memory_mb === undefined || s.memory_mb === v.memory_mb) &&
				(v.disk_size_mb === undefined || s.disk_mb === v.disk_size_mb)
		);
		if (!match) {
			ctx.addIssue({ code: 'custom', path: ['cpu_count'], message: 'cpu_count/memory_mb/disk_size_mb must match a size (xs, small, medium, large, xl)' });
		} else if (v.size && match[0] !== v.size) {
			ctx.addIssue({ code: 'custom', path: ['size'], message: `size ${v.size} does not match cpu_count/memory_mb/disk_size_mb` });
		}
	});
export type SandboxCreateInput = z.infer<typeof sandboxCreateSchema>;

export const sandboxUpdateSchema = z.object({
	name: z.string().trim().min(1).max(100).nullable().optional(),
	slug: slugSchema.nullable().optional(),
	tags: tagsSchema.optional(),
	metadata: metadataSchema.optional(),
	always_on: z.boolean().optional(),
	timeout_sec: z.number().int().min(1).max(MAX_TIMEOUT_SEC).optional(),
	idle_timeout_sec: z.number().int().min(1).max(MAX_TIMEOUT_SEC).nullable().optional()
});

export const sandboxListQuery = z
	.object({
		state: z.enum(['provisioning', 'running', 'paused', 'destroyed', 'error']).optional(),
		tags: z.string().optional(),
		name: z.string().optional(),
		template_id: z.string().optional(),
		workspace_id: z.string().uuid().optional(),
		project_id: z.string().uuid().optional(),
		external_workspace_id: z.string().optional(),
		external_project_id: z.string().optional(),
		external_user_id: z.string().optional(),
		include_destroyed: z.enum(['true', 'false']).optional()
	})
	.passthrough();

export const execSchema = z.object({
	command: z.union([z.string().min(1).max(100_000), z.array(z.string()).min(1)]).optional(),
	cmd: z.string().min(1).max(100_000).optional(),
	args: z.array(z.string()).optional(),
	cwd: z.string().max(4096).optional(),
	env: envSchema.optional(),
	/** Seconds (SDK); default 60, max 3600. */
	timeout: z.number().positive().max(3600).optional(),
	timeout_ms: z.number().int().positive().max(3_600_000).optional(),
	stdin: z.string().max(10_000_000).optional(),
	shell: z.enum(['sh', 'bash']).optional()
});
export type ExecInput = z.infer<typeof execSchema>;

/** `command` may be a string (run by a shell) or argv; `cmd` + `args` is the docs' SDK form. */
export function commandOf(input: ExecInput): string {
	const quote = (s: string) => (/^[A-Za-z0-9_\-./:=@%+,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
	if (Array.isArray(input.command)) return input.command.map(quote).join(' ');
	if (input.command) return input.command;
	if (input.cmd) return [input.cmd, ...(input.args ?? []).map(quote)].join(' ');
	return '';
}

export const processStartSchema = z.object({
	command: z.string().min(1).max(100_000),
	cwd: z.string().max(4096).optional(),
	env: envSchema.optional(),
	name: z.string().trim().min(1).max(100).optional(),
	shell: z.enum(['sh', 'bash']).optional()
});
