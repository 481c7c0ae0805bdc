import { z } from 'zod';
import { metadataSchema } from '../http/validate';
import { MAX_TIMEOUT_SEC } from '../sandboxes/schemas';

export const snapshotCreateSchema = z
	.object({
		comment: z.string().max(500, 'at most 500 characters').optional(),
		/** CLI spelling (`--name`). */
		name: z.string().max(500, 'at most 500 characters').optional()
	})
	.passthrough();

export const restoreSchema = z
	.object({
		name: z.string().trim().min(1).max(100).optional(),
		metadata: metadataSchema.optional(),
		timeout_sec: z.number().int().min(1).max(MAX_TIMEOUT_SEC).optional()
	})
	.passthrough();

export const forkSchema = restoreSchema.extend({
	snapshot_id: z.string().uuid().optional(),
	template_id: z.string().min(1).max(100).optional()
});
