// GET /ws/terminal?ticket=tkt_…[&cols=&rows=] — a browser's socket to one PTY session.
//
// Before upgrading: redeem the single-use ticket (kind 'terminal', bound to a sandbox and a
// session), check the sandbox is still the organization's and running (resume it when paused)
// and attach to the session on the agent. Any failure answers a plain HTTP error with the JSON
// envelope (401 for a bad, used or expired ticket) instead of upgrading.
//
// After: browser binary frames (and non-JSON text) are terminal input; JSON text frames are
// control: {"type":"resize","cols","rows"}, {"type":"input","data"}, {"type":"ping"}. The server
// sends {"type":"ready", session_id, sandbox_id, cols, rows, replay_bytes} first, then the
// scrollback and live output as binary frames, {"type":"exit","code","signal"} when the shell
// exits (then closes 1000), and {"type":"error","message"} for a failed control request.
import { binarySender } from '../ws/backpressure';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import type { Channel } from '$lib/protocol/peer';
import { randomToken } from '../auth/crypto';
import type { Sandbox } from '../db/schema';
import { openAgentChannel } from '../hosts/channels';
import { agentCall } from '../hosts/connections';
import { ApiError, invalidToken } from '../http/errors';
import { errorBody } from '../http/respond';
import { isUuid } from '../http/validate';
import { ensureRunning, getSandbox, touch } from '../sandboxes/service';
import { redeemTicket } from '../tickets/service';
import { accept, registerWsRoute } from '../ws';
import { PtyFrameDecoder } from './frames';
import { terminalClientFrame } from './schemas';
import { TERMINAL_WS_PATH, terminalEnded, terminalFailure } from './service';

/** Pause the agent channel while this much output waits for the browser. */
const WS_HIGH_WATER = 1024 * 1024;
const WS_LOW_WATER = 256 * 1024;
const PING_INTERVAL_MS = 25_000;

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict', 502: 'Bad Gateway', 504: 'Gateway Timeout' };

/** Answers the upgrade request with the API's error envelope and closes the socket. */
function refuse(socket: Duplex, err: unknown): void {
	if (socket.destroyed) return;
	const e = err instanceof ApiError ? err : terminalFailure(err);
	const body = JSON.stringify(errorBody(e, `req_${randomToken(13)}`));
	socket.end(
		`HTTP/1.1 ${e.status} ${STATUS_TEXT[e.status] ?? 'Error'}\r\n` +
			`content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
	);
}

function dim(v: string | null, max: number): number | undefined {
	const n = Number(v);
	return v && Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
}

async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
	const raw = url.searchParams.get('ticket');
	const t = raw ? await redeemTicket(raw, 'terminal') : null;
	const sessionId = t?.extra?.session_id;
	if (!t || !t.resourceId || typeof sessionId !== 'string' || !isUuid(t.resourceId)) {
		return refuse(socket, invalidToken('invalid, expired or already used ticket'));
	}
	let row: Sandbox;
	let ch: Channel;
	try {
		row = await ensureRunning(await getSandbox(t.organizationId, t.resourceId));
		const cols = dim(url.searchParams.get('cols'), 1000);
		const rows = dim(url.searchParams.get('rows'), 500);
		ch = await openAgentChannel(row.hostId!, 'pty', {
			sandbox_id: row.id,
			session_id: sessionId,
			create: false,
			...(cols && rows ? { cols, rows } : {})
		});
	} catch (err) {
		return refuse(socket, err);
	}
	if (socket.destroyed) {
		ch.destroy();
		return;
	}
	const ws = await accept(req, socket, head);
	bridge(ws, ch, row, sessionId);
}

/** Pipes one browser socket to one agent channel until either ends. */
function bridge(ws: WebSocket, ch: Channel, row: Sandbox, sessionId: string): void {
	ws.binaryType = 'nodebuffer';
	const decoder = new PtyFrameDecoder();
	let exited = false;
	let alive = true;

	const sendJson = (o: unknown) => {
		if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
	};
	const sendOutput = binarySender(ws, ch, WS_HIGH_WATER, WS_LOW_WATER);

	ch.on('data', (chunk: Buffer) => {
		let messages;
		try {
			messages = decoder.push(chunk);
		} catch (e) {
			console.error('terminal: bad frame from agent', e);
			ws.close(1011, 'bad frame from the host agent');
			ch.destroy();
			return;
		}
		for (const m of messages) {
			if (m.kind === 'data') {
				touch(row);
				sendOutput(m.data);
			} else if (m.control.type === 'attached') {
				const s = m.control.session;
				sendJson({ type: 'ready', session_id: s.session_id, sandbox_id: row.id, cols: s.cols, rows: s.rows, replay_bytes: m.control.replay_bytes });
			} else if (m.control.type === 'exit') {
				exited = true;
				const { exit_code, signal } = m.control;
				sendJson({ type: 'exit', code: exit_code, exit_code, signal });
				void terminalEnded(row, sessionId, { reason: 'exited', exit_code, signal }).catch((e) => console.error('terminal event failed', e));
			}
		}
	});
	ch.on('end', () => {
		if (exited) ws.close(1000, 'exited');
		else ws.close(1011, 'terminal session unavailable');
		ch.destroy();
	});
	ch.on('close', () => {
		if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(exited ? 1000 : 1011, exited ? 'exited' : 'terminal session unavailable');
	});
	ch.on('error', () => undefined);

	const input = (b: Buffer | string) => {
		if (ch.destroyed || ch.writableEnded) return;
		touch(row);
		if (!ch.write(b)) {
			ws.pause();
			ch.once('drain', () => ws.resume());
		}
	};
	ws.on('message', (data: RawData, isBinary: boolean) => {
		const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
		if (isBinary) return input(buf);
		const text = buf.toString('utf8');
		let frame: unknown;
		try {
			frame = text.startsWith('{') ? JSON.parse(text) : undefined;
		} catch {
			frame = undefined;
		}
		if (frame === undefined) return input(buf); // plain text frames are input too (wscat, curl)
		const parsed = terminalClientFrame.safeParse(frame);
		if (!parsed.success) return sendJson({ type: 'error', message: 'unknown control frame' });
		const f = parsed.data;
		if (f.type === 'input') return input(f.data);
		if (f.type === 'ping') return sendJson({ type: 'pong' });
		agentCall(row.hostId!, 'pty.resize', { sandbox_id: row.id, session_id: sessionId, cols: f.cols, rows: f.rows }).then(
			() => touch(row),
			(e: Error) => sendJson({ type: 'error', message: `resize failed: ${e.message}` })
		);
	});

	// Proxies drop quiet sockets; a peer that stops answering pings is gone.
	const ping = setInterval(() => {
		if (!alive) return ws.terminate();
		alive = false;
		ws.ping();
	}, PING_INTERVAL_MS);
	ping.unref();
	ws.on('pong', () => (alive = true));
	// Detach only: the session keeps running for the next connection.
	ws.on('close', () => {
		clearInterval(ping);
		ch.destroy();
	});
	ws.on('error', () => undefined);
}

registerWsRoute(TERMINAL_WS_PATH, handleUpgrade);
