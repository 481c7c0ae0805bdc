// GET /ws/desktop?ticket=dtk_… — a browser's noVNC socket to a computer's desktop.
//
// Before upgrading: redeem the single-use 'desktop' ticket (bound to a computer; extra.read_only),
// check the computer is active, open a 'vnc' channel to the agent (raw RFB bytes relayed to the
// Xvnc unix socket inside the sandbox). Any failure answers a plain HTTP error with the JSON
// envelope (401 for a bad, used or expired ticket, 409 COMPUTER_NOT_RUNNING).
//
// After: binary frames both ways. Browser → desktop bytes go through an RFB parser that drops
// input (key, pointer, clipboard, resize) unless this connection may act: not read-only and a
// person holds control (POST /computers/{id}/control {holder:'user'}). Watchers stay view-only.
import { binarySender } from '../ws/backpressure';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { eq } from 'drizzle-orm';
import type { Channel } from '$lib/protocol/peer';
import { randomToken } from '../auth/crypto';
import { db } from '../db';
import { computer, type Computer } from '../db/schema';
import { openAgentChannel } from '../hosts/channels';
import { ApiError, invalidToken } from '../http/errors';
import { errorBody } from '../http/respond';
import { isUuid } from '../http/validate';
import { agentFailure, touch } from '../sandboxes/service';
import { redeemTicket } from '../tickets/service';
import { accept, registerWsRoute } from '../ws';
import { RfbInputFilter } from './rfb';
import { getComputer, onControlChange, requireRunning } from './service';

export const DESKTOP_WS_PATH = '/ws/desktop';
const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict', 502: 'Bad Gateway', 504: 'Gateway Timeout' };
const WS_HIGH_WATER = 4 * 1024 * 1024;
const WS_LOW_WATER = 1024 * 1024;

function refuse(socket: Duplex, err: unknown): void {
	if (socket.destroyed) return;
	const e = err instanceof ApiError ? err : agentFailure(err);
	const body = JSON.stringify(errorBody(e, `req_${randomToken(13)}`));
	socket.end(
		`HTTP/1.1 ${e.status} ${STATUS_TEXT[e.status] ?? 'Error'}\r\n` +
			`content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
	);
}

const live = new Map<string, Set<{ update(c: Computer): void }>>();
onControlChange((c) => live.get(c.id)?.forEach((b) => b.update(c)));

async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
	const raw = url.searchParams.get('ticket');
	const t = raw ? await redeemTicket(raw, 'desktop') : null;
	if (!t || !t.resourceId || !isUuid(t.resourceId) || t.extra?.refresh) return refuse(socket, invalidToken('invalid, expired or already used ticket'));
	const readOnly = t.extra?.read_only === true;
	let c: Computer;
	let ch: Channel;
	let sbRow;
	try {
		c = await getComputer(t.organizationId, t.resourceId);
		const r = await requireRunning(c);
		sbRow = r.sb;
		ch = await openAgentChannel(r.sb.hostId!, 'vnc', { sandbox_id: r.sb.id });
	} catch (err) {
		return refuse(socket, err);
	}
	if (socket.destroyed) {
		ch.destroy();
		return;
	}
	const ws = await accept(req, socket, head);
	ws.binaryType = 'nodebuffer';
	let holder = c.controlHolder;
	const bridgeRef = { update: (n: Computer) => (holder = n.controlHolder) };
	let set = live.get(c.id);
	if (!set) live.set(c.id, (set = new Set()));
	set.add(bridgeRef);
	// Other replicas may change control: re-read it now and then.
	const poll = setInterval(() => {
		db.select({ h: computer.controlHolder })
			.from(computer)
			.where(eq(computer.id, c.id))
			.then(([r]) => {
				if (r) holder = r.h;
			})
			.catch(() => undefined);
	}, 2000);
	poll.unref();
	const filter = new RfbInputFilter(() => !readOnly && holder === 'user');

	ch.on('data', binarySender(ws, ch, WS_HIGH_WATER, WS_LOW_WATER));
	const close = (code: number, reason: string) => {
		if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
	};
	ch.on('end', () => {
		close(1011, 'desktop connection ended');
		ch.destroy();
	});
	ch.on('close', () => close(1011, 'desktop connection ended'));
	ch.on('error', () => undefined);
	let lastTouch = 0;
	ws.on('message', (data: RawData) => {
		const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
		const out = filter.push(buf);
		if (out === null) {
			close(1008, 'unsupported RFB message');
			ch.destroy();
			return;
		}
		if (out.length && !ch.destroyed && !ch.writableEnded) {
			if (!ch.write(out)) {
				ws.pause();
				ch.once('drain', () => ws.resume());
			}
		}
		const now = Date.now();
		if (now - lastTouch > 5000) {
			lastTouch = now;
			touch(sbRow);
		}
	});
	let alive = true;
	const ping = setInterval(() => {
		if (!alive) return ws.terminate();
		alive = false;
		ws.ping();
	}, 25_000);
	ping.unref();
	ws.on('pong', () => (alive = true));
	ws.on('close', () => {
		clearInterval(ping);
		clearInterval(poll);
		set?.delete(bridgeRef);
		if (set && !set.size) live.delete(c.id);
		ch.destroy();
	});
	ws.on('error', () => undefined);
}

registerWsRoute(DESKTOP_WS_PATH, handleUpgrade);
