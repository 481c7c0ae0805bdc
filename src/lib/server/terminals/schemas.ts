import { z } from 'zod';

/** Contract: terminal tickets for embedding live at most an hour; reconnect tickets default to 60 s. */
export const DEFAULT_TICKET_TTL_SEC = 60;
export const MAX_TICKET_TTL_SEC = 3600;

const envSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment names are letters, digits and _'), z.string().max(32_768));
const cols = z.number().int().min(1).max(1000);
const rows = z.number().int().min(1).max(500);
const ttl = z.number().int().min(1).max(MAX_TICKET_TTL_SEC);

/** POST /sandboxes/{id}/terminal */
export const terminalCreateSchema = z.object({
	cols: cols.optional(),
	rows: rows.optional(),
	/** A path or a command line ('zsh', '/bin/bash --norc'); default `/bin/bash -l` (else `/bin/sh`). */
	shell: z.string().trim().min(1).max(1000).optional(),
	cwd: z.string().startsWith('/', 'cwd must be an absolute path').max(4096).optional(),
	env: envSchema.optional(),
	ttl_seconds: ttl.optional()
});
export type TerminalCreateInput = z.infer<typeof terminalCreateSchema>;

/** POST /sandboxes/{id}/terminal/{session_id}/resize */
export const terminalResizeSchema = z.object({ cols, rows });

/** POST /sandboxes/{id}/terminal/{session_id}/ticket */
export const terminalTicketSchema = z.object({ ttl_seconds: ttl.optional() });

/** A JSON text frame from the browser on /ws/terminal. */
export const terminalClientFrame = z.discriminatedUnion('type', [
	z.object({ type: z.literal('resize'), cols, rows }),
	z.object({ type: z.literal('input'), data: z.string().max(1024 * 1024) }),
	z.object({ type: z.literal('ping') })
]);
