// Web terminals: PTY sessions in sandboxes (the agent keeps them, see agent/pty.ts), opened by
// browsers over /ws/terminal with single-use tickets (ws.ts).
import { eq } from 'drizzle-orm';
import type { Events, PtySessionInfo } from '$lib/protocol';
import { db } from '../db';
import { sandbox, type Sandbox } from '../db/schema';
import type { Principal } from '../auth/principal';
import { audit } from '../audit/service';
import { emit } from '../events/service';
import { agentCall } from '../hosts/connections';
import { AgentError } from '../hosts/hub';
import { ApiError, notFound } from '../http/errors';
import { mintTicket } from '../tickets/service';
import { agentFailure, ensureRunning, type Actor } from '../sandboxes/service';
import { DEFAULT_TICKET_TTL_SEC, type TerminalCreateInput } from './schemas';

export const TERMINAL_WS_PATH = '/ws/terminal';
const DEFAULT_COLS = 80;
const DEFAULT_ROWS = 24;

export type TerminalDto = ReturnType<typeof toTerminalDto>;

export function toTerminalDto(s: Sandbox, p: PtySessionInfo) {
	return {
		id: p.session_id,
		session_id: p.session_id,
		sandbox_id: s.id,
		shell: p.shell.join(' '),
		cwd: p.cwd,
		cols: p.cols,
		rows: p.rows,
		state: p.state,
		/** Browsers (or other clients) attached right now. */
		attached: p.attached,
		exit_code: p.exit_code ?? null,
		signal: p.signal ?? null,
		created_at: p.created_at,
		last_activity_at: p.last_activity_at
	};
}

export interface TerminalTicket {
	ticket: string;
	/** Absolute ws(s) URL that opens the session; the ticket is single-use. */
	ws_url: string;
	/** A page that shows the session full-window (for iframes); uses the same ticket. */
	embed_url: string;
	expires_at: string;
}

/** Maps agent failures of terminal calls: an unknown session is NOT_FOUND. */
export function terminalFailure(err: unknown): ApiError {
	if (err instanceof AgentError) {
		if (err.code === 'SESSION_NOT_FOUND') return notFound('terminal session');
		if (err.code === 'CAPACITY') return new ApiError(409, 'CONFLICT', err.message);
		if (err.code === 'SANDBOX_PAUSED') return new ApiError(409, 'SANDBOX_NOT_RUNNING', 'the sandbox is paused');
	}
	return agentFailure(err);
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		throw terminalFailure(err);
	}
}

const wsOrigin = (origin: string) => origin.replace(/^http(s?):/, 'ws$1:');

/** Mints a single-use ticket for one session of one sandbox (the WebSocket redeems it). */
export async function issueTerminalTicket(
	principal: Principal,
	s: Sandbox,
	sessionId: string,
	origin: string,
	ttlSec = DEFAULT_TICKET_TTL_SEC
): Promise<TerminalTicket> {
	const { ticket, expiresAt } = await mintTicket(principal, 'terminal', { ttlSec, resourceId: s.id, extra: { session_id: sessionId } });
	const q = `ticket=${encodeURIComponent(ticket)}`;
	return {
		ticket,
		ws_url: `${wsOrigin(origin)}${TERMINAL_WS_PATH}?${q}`,
		embed_url: `${origin}/embed/terminal/${sessionId}?${q}`,
		expires_at: expiresAt.toISOString()
	};
}

/** Starts a shell in the sandbox (resuming it when paused) and mints the first ticket. */
export async function createTerminal(actor: Actor, s: Sandbox, input: TerminalCreateInput, origin: string) {
	s = await ensureRunning(s);
	const sessionId = crypto.randomUUID();
	const info = await call(() =>
		agentCall(s.hostId!, 'pty.create', {
			sandbox_id: s.id,
			session_id: sessionId,
			cols: input.cols ?? DEFAULT_COLS,
			rows: input.rows ?? DEFAULT_ROWS,
			shell: input.shell,
			cwd: input.cwd,
			env: input.env
		})
	);
	const dto = toTerminalDto(s, info);
	await emit({
		organizationId: s.organizationId,
		workspaceId: s.workspaceId,
		type: 'sandbox.terminal.opened',
		resourceType: 'sandbox',
		resourceId: s.id,
		data: { sandbox_id: s.id, session_id: sessionId, shell: dto.shell, cols: dto.cols, rows: dto.rows }
	});
	await audit(
		{ principal: actor.principal, organizationId: s.organizationId, requestId: actor.requestId, ip: actor.ip },
		{ action: 'sandbox.terminal.opened', resourceType: 'sandbox', resourceId: s.id, workspaceId: s.workspaceId, metadata: { session_id: sessionId, shell: dto.shell } }
	);
	return { ...dto, ...(await issueTerminalTicket(actor.principal, s, sessionId, origin, input.ttl_seconds)) };
}

/** Sessions of a running or paused sandbox (none otherwise). */
export async function listTerminals(s: Sandbox) {
	if (s.state !== 'running' && s.state !== 'paused') return [];
	const { sessions } = await call(() => agentCall(s.hostId!, 'pty.list', { sandbox_id: s.id }));
	return sessions.map((p) => toTerminalDto(s, p));
}

export async function getTerminal(s: Sandbox, sessionId: string) {
	const t = (await listTerminals(s)).find((p) => p.session_id === sessionId);
	if (!t) throw notFound('terminal session');
	return t;
}

export async function resizeTerminal(s: Sandbox, sessionId: string, cols: number, rows: number) {
	s = await ensureRunning(s);
	return toTerminalDto(s, await call(() => agentCall(s.hostId!, 'pty.resize', { sandbox_id: s.id, session_id: sessionId, cols, rows })));
}

/** Ends a live session (SIGHUP to the shell, SIGKILL 2 s later); an ended one is NOT_FOUND. */
export async function deleteTerminal(actor: Actor, s: Sandbox, sessionId: string) {
	s = await ensureRunning(s);
	const t = await getTerminal(s, sessionId);
	if (t.state !== 'running') throw new ApiError(404, 'NOT_FOUND', 'terminal session has ended');
	const { killed } = await call(() => agentCall(s.hostId!, 'pty.kill', { sandbox_id: s.id, session_id: sessionId }));
	await audit(
		{ principal: actor.principal, organizationId: s.organizationId, requestId: actor.requestId, ip: actor.ip },
		{ action: 'sandbox.terminal.closed', resourceType: 'sandbox', resourceId: s.id, workspaceId: s.workspaceId, metadata: { session_id: sessionId } }
	);
	if (killed) await terminalEnded(s, sessionId, { reason: 'deleted', exit_code: null, signal: null });
	return { ...t, state: 'exited' as const };
}

// ------------------------------------------------------------------------------------------
// sandbox.terminal.closed: once per session, whichever of these sees the end first — DELETE,
// a connected WebSocket receiving the exit, or the agent's pty.exited event (onPtyExited).

const ended = new Map<string, number>();

export async function terminalEnded(
	s: Pick<Sandbox, 'id' | 'organizationId' | 'workspaceId'>,
	sessionId: string,
	d: { reason: string; exit_code: number | null; signal: string | null }
): Promise<void> {
	if (ended.has(sessionId)) return;
	ended.set(sessionId, Date.now());
	if (ended.size > 10_000) for (const k of [...ended.keys()].slice(0, 5000)) ended.delete(k);
	await emit({
		organizationId: s.organizationId,
		workspaceId: s.workspaceId,
		type: 'sandbox.terminal.closed',
		resourceType: 'sandbox',
		resourceId: s.id,
		data: { sandbox_id: s.id, session_id: sessionId, reason: d.reason, exit_code: d.exit_code, signal: d.signal }
	});
}

/** Handler for the agent event `pty.exited` (wired in hosts/connections.ts). */
export async function onPtyExited(d: Events['pty.exited']): Promise<void> {
	if (ended.has(d.session_id)) return;
	const [row] = await db.select().from(sandbox).where(eq(sandbox.id, d.sandbox_id));
	if (!row) return;
	await terminalEnded(row, d.session_id, { reason: d.reason, exit_code: d.exit_code, signal: d.signal ?? null });
}
