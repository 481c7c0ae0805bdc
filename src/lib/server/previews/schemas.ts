import { z } from 'zod';
import { MAX_PREVIEW_TOKEN_SEC } from './tokens';

const port = z.number().int().min(1).max(65535);

export const previewCreateSchema = z
	.object({
		port,
		visibility: z.enum(['private', 'public']).optional()
	})
	.passthrough();

export const exposeSchema = z
	.object({
		port: port.optional(),
		visibility: z.enum(['private', 'public']).optional()
	})
	.passthrough();

export const shareSchema = z.object({
	ttl_seconds: z.number().int().min(60).max(30 * 86_400).optional()
});

/** scope is checked separately: an unknown one is 422 `invalid_scope` (contract). */
export const previewTokenSchema = z.object({
	expires_in: z.number().int().min(1).max(MAX_PREVIEW_TOKEN_SEC).optional(),
	scope: z.string().optional(),
	port: port.optional()
});
