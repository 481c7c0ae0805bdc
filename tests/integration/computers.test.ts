// Computers end to end against the built server and a real agent: lifecycle with the SDK's
// (bare) shapes, a live desktop (desktop-host template: Xvnc + xfwm4 + xterm from the host's
// /usr), screenshots, input, clipboard, windows, not-running errors, the VNC WebSocket with its
// RFB handshake, stream tokens, and take-over blocking API input (and enabling browser input).
import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { baseUrl, call, expectError, keyWith, newOrg, waitFor, type Org } from './helpers';

const missing = ['Xvnc', 'xfwm4', 'xterm', 'xdotool', 'import', 'xclip', 'xprop'].filter((b) => {
	try {
		execSync(`command -v ${b}`, { stdio: 'ignore', shell: '/bin/sh' });
		return false;
	} catch {
		return true;
	}
});
if (missing.length) console.warn(`[computers tests] skipped: the desktop packages are missing on this host (${missing.join(', ')}); see scripts/lib.js DEBIAN_PACKAGES`);

function pngSize(b: Buffer): { width: number; height: number } {
	expect(b.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
	expect(b.subarray(12, 16).toString('latin1')).toBe('IHDR');
	return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

async function screenshot(org: Org, id: string): Promise<{ buf: Buffer; ms: number }> {
	const t0 = performance.now();
	const res = await fetch(`${baseUrl()}/api/v1/computers/${id}/desktop/screenshot`, { headers: { authorization: `Bearer ${org.key}` } });
	const buf = Buffer.from(await res.arrayBuffer());
	const ms = performance.now() - t0;
	expect(res.status, buf.toString('utf8').slice(0, 300)).toBe(200);
	expect(res.headers.get('content-type')).toBe('image/png');
	return { buf, ms };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** A raw RFB client over /ws/desktop: handshake (3.8, None), ServerInit. */
function rfb(url: string): Promise<{ ws: WebSocket; width: number; height: number; name: string; bytes: () => number }> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url);
		let buf = Buffer.alloc(0);
		let stage = 0;
		let total = 0;
		ws.on('unexpected-response', (_req, res) => {
			let body = '';
			res.on('data', (d: Buffer) => (body += d));
			res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
		});
		ws.on('error', reject);
		ws.on('message', (d: Buffer) => {
			total += d.length;
			buf = Buffer.concat([buf, d]);
			if (stage === 0 && buf.length >= 12) {
				expect(buf.subarray(0, 12).toString('latin1')).toBe('RFB 003.008\n');
				buf = buf.subarray(12);
				ws.send(Buffer.from('RFB 003.008\n'));
				stage = 1;
			}
			if (stage === 1 && buf.length >= 1 && buf.length >= 1 + buf[0]) {
				const types = [...buf.subarray(1, 1 + buf[0])];
				expect(types).toContain(1);
				buf = buf.subarray(1 + buf[0]);
				ws.send(Buffer.from([1]));
				stage = 2;
			}
			if (stage === 2 && buf.length >= 4) {
				expect(buf.readUInt32BE(0)).toBe(0);
				buf = buf.subarray(4);
				ws.send(Buffer.from([1])); // ClientInit: shared
				stage = 3;
			}
			if (stage === 3 && buf.length >= 24) {
				const width = buf.readUInt16BE(0);
				const height = buf.readUInt16BE(2);
				const nameLen = buf.readUInt32BE(20);
				if (buf.length < 24 + nameLen) return;
				const name = buf.subarray(24, 24 + nameLen).toString('utf8');
				stage = 4;
				resolve({ ws, width, height, name, bytes: () => total });
			}
		});
	});
}

const pointer = (x: number, y: number, mask = 0) => {
	const b = Buffer.alloc(6);
	b[0] = 5;
	b[1] = mask;
	b.writeUInt16BE(x, 2);
	b.writeUInt16BE(y, 4);
	return b;
};

describe.skipIf(missing.length > 0)('computers', () => {
	let org: Org;
	let id: string;

	beforeAll(async () => {
		org = await newOrg();
	});

	afterAll(async () => {
		if (id) await call('DELETE', `/computers/${id}`, { token: org.key });
	});

	it('creates a computer: 201 bare ComputerData, active with a desktop', async () => {
		const t0 = performance.now();
		const r = await call('POST', '/computers', {
			token: org.key,
			body: { name: 'Agent Desk', template_type: 'miosa-desktop', size: 'small', metadata: { team: 'qa' }, resolution: { width: 1024, height: 768 }, external_user_id: 'u-42' }
		});
		console.log(`POST /computers → ${r.body?.status} in ${Math.round(performance.now() - t0)} ms`);
		expect(r.status, r.text).toBe(201);
		expect(r.body.data).toBeUndefined();
		expect(r.body).toMatchObject({ name: 'Agent Desk', template_type: 'miosa-desktop', size: 'small', cpu_count: 1, vcpus: 1, memory_mb: 4096, metadata: { team: 'qa' }, external_user_id: 'u-42' });
		expect(['provisioning', 'active']).toContain(r.body.status);
		expect(r.body.created_at).toMatch(/Z$/);
		id = r.body.id;
		const active = await waitFor(async () => {
			const g = await call('GET', `/computers/${id}`, { token: org.key });
			if (g.body.status === 'error') throw new Error(g.text);
			return g.body.status === 'active' && g.body;
		}, 60_000, 200);
		expect(active.region).toBeTruthy();
		expect(active.screen).toEqual({ width: 1024, height: 768 });

		const list = await call('GET', '/computers', { token: org.key });
		expect(list.status).toBe(200);
		expect(list.body.data.map((c: any) => c.id)).toContain(id);
		expect(list.body.meta).toMatchObject({ page: 1 });

		const upd = await call('PATCH', `/computers/${id}`, { token: org.key, body: { name: 'Renamed', metadata: { team: 'ops' } } });
		expect(upd.status, upd.text).toBe(200);
		expect(upd.body).toMatchObject({ id, name: 'Renamed', metadata: { team: 'ops' } });

		const ro = await keyWith(org, ['computers:read']);
		expectError(await call('PATCH', `/computers/${id}`, { token: ro, body: { name: 'x' } }), 403, 'insufficient_scope');
		expectError(await call('GET', '/computers/00000000-0000-4000-8000-000000000000', { token: org.key }), 404, 'NOT_FOUND');
	});

	it('exec answers bare {stdout, stderr, exit_code, output}', async () => {
		const r = await call('POST', `/computers/${id}/exec`, { token: org.key, body: { command: 'echo out; echo err >&2; echo $DISPLAY; exit 3' } });
		expect(r.status, r.text).toBe(200);
		expect(r.body).toMatchObject({ stdout: 'out\n:1\n', stderr: 'err\n', exit_code: 3 });
		expect(r.body.output).toContain('out');
		const py = await call('POST', `/computers/${id}/exec/python`, { token: org.key, body: { code: 'import os\nprint(6*7, os.environ["DISPLAY"])' } });
		expect(py.status, py.text).toBe(200);
		expect(py.body).toMatchObject({ stdout: '42 :1\n', exit_code: 0, success: true });
		const apps = await call('GET', `/computers/${id}/apps`, { token: org.key });
		expect(apps.body.apps).toEqual(expect.arrayContaining([{ name: 'terminal', program: 'xterm', installed: true }]));
	});

	it('screenshots are PNGs of the screen size; typing into the terminal changes the picture', async () => {
		// The terminal window appears.
		const term = await waitFor(async () => {
			const w = await call('GET', `/computers/${id}/desktop/windows`, { token: org.key });
			expect(w.status, w.text).toBe(200);
			return w.body.windows.find((x: any) => x.title === 'Terminal');
		}, 20_000, 200);
		expect(term).toMatchObject({ id: expect.any(String), width: expect.any(Number), is_focused: expect.any(Boolean) });

		const shots: number[] = [];
		let first: Buffer | null = null;
		for (let i = 0; i < 5; i++) {
			const s = await screenshot(org, id);
			shots.push(s.ms);
			first ??= s.buf;
		}
		expect(pngSize(first!)).toEqual({ width: 1024, height: 768 });

		const b64 = await call('GET', `/computers/${id}/desktop/screenshot?format=base64`, { token: org.key });
		expect(b64.status).toBe(200);
		expect(pngSize(Buffer.from(b64.body.image, 'base64'))).toEqual({ width: 1024, height: 768 });

		const region = await fetch(`${baseUrl()}/api/v1/computers/${id}/desktop/screenshot/region`, {
			method: 'POST',
			headers: { authorization: `Bearer ${org.key}`, 'content-type': 'application/json' },
			body: JSON.stringify({ x: 0, y: 0, width: 200, height: 100 })
		});
		expect(pngSize(Buffer.from(await region.arrayBuffer()))).toEqual({ width: 200, height: 100 });

		expect((await call('POST', `/computers/${id}/desktop/window/focus`, { token: org.key, body: { window_id: term.id } })).body).toMatchObject({ success: true });
		const clicks: number[] = [];
		for (let i = 0; i < 5; i++) {
			const t0 = performance.now();
			const c = await call('POST', `/computers/${id}/desktop/click`, { token: org.key, body: { x: term.x + 40 + i, y: term.y + 40, button: 'left' } });
			clicks.push(performance.now() - t0);
			expect(c.status, c.text).toBe(200);
			expect(c.body.success).toBe(true);
		}
		const typed = await call('POST', `/computers/${id}/desktop/type`, { token: org.key, body: { text: 'echo typed-via-api > /tmp/typed.txt' } });
		expect(typed.status, typed.text).toBe(200);
		expect((await call('POST', `/computers/${id}/desktop/key`, { token: org.key, body: { key: 'Enter' } })).status).toBe(200);
		const file = await waitFor(async () => {
			const r = await call('POST', `/computers/${id}/exec`, { token: org.key, body: { command: 'cat /tmp/typed.txt 2>/dev/null' } });
			return r.body.stdout.trim() === 'typed-via-api' && r.body.stdout;
		}, 10_000, 200);
		expect(file.trim()).toBe('typed-via-api');
		const after = await screenshot(org, id);
		expect(after.buf.equals(first!)).toBe(false);
		console.log(`through the API: screenshot median ${median(shots).toFixed(1)} ms (${shots.map((m) => m.toFixed(0)).join(', ')}), click median ${median(clicks).toFixed(1)} ms (${clicks.map((m) => m.toFixed(0)).join(', ')}); PNG ${first!.length} bytes`);

		const cur = await call('GET', `/computers/${id}/desktop/cursor`, { token: org.key });
		expect(cur.body).toMatchObject({ x: term.x + 44, y: term.y + 40 });
		const move = await call('POST', `/computers/${id}/desktop/move`, { token: org.key, body: { x: 10, y: 20 } });
		expect(move.status).toBe(200);
		expect((await call('GET', `/computers/${id}/desktop/cursor`, { token: org.key })).body).toMatchObject({ x: 10, y: 20 });
		expect((await call('POST', `/computers/${id}/desktop/scroll`, { token: org.key, body: { direction: 'down', clicks: 2 } })).status).toBe(200);
		expect((await call('POST', `/computers/${id}/desktop/drag`, { token: org.key, body: { from_x: 5, from_y: 5, to_x: 50, to_y: 60 } })).status).toBe(200);
		expect((await call('GET', `/computers/${id}/desktop/screen-size`, { token: org.key })).body).toEqual({ width: 1024, height: 768 });
	}, 60_000);

	it('validates coordinates against the screen (422)', async () => {
		expectError(await call('POST', `/computers/${id}/desktop/click`, { token: org.key, body: { x: 1024, y: 10 } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', `/computers/${id}/desktop/move`, { token: org.key, body: { x: -1, y: 10 } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', `/computers/${id}/desktop/drag`, { token: org.key, body: { from_x: 1, from_y: 1, to_x: 5, to_y: 9000 } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', `/computers/${id}/desktop/screenshot/region`, { token: org.key, body: { x: 900, y: 0, width: 200, height: 10 } }), 422, 'VALIDATION_ERROR');
		expectError(await call('POST', `/computers/${id}/desktop/nope`, { token: org.key, body: {} }), 404, 'NOT_FOUND');
	});

	it('clipboard round trip; launch and window operations', async () => {
		const set = await call('POST', `/computers/${id}/desktop/clipboard`, { token: org.key, body: { text: 'from the API ✓' } });
		expect(set.status, set.text).toBe(200);
		expect((await call('GET', `/computers/${id}/desktop/clipboard`, { token: org.key })).body.text).toBe('from the API ✓');

		const l = await call('POST', `/computers/${id}/desktop/launch`, { token: org.key, body: { app_name: 'xterm', args: ['-title', 'second-term'] } });
		expect(l.status, l.text).toBe(200);
		const w = await waitFor(async () => {
			const r = await call('GET', `/computers/${id}/desktop/windows`, { token: org.key });
			return r.body.windows.find((x: any) => x.title === 'second-term');
		}, 10_000, 100);
		const pos = await call('POST', `/computers/${id}/desktop/window/position`, { token: org.key, body: { window_id: w.id, x: 300, y: 200 } });
		expect(pos.status, pos.text).toBe(200);
		const close = await call('POST', `/computers/${id}/desktop/window/close`, { token: org.key, body: { window_id: w.id } });
		expect(close.status, close.text).toBe(200);
		await waitFor(async () => {
			const r = await call('GET', `/computers/${id}/desktop/windows`, { token: org.key });
			return !r.body.windows.some((x: any) => x.title === 'second-term');
		}, 10_000, 100);
		expectError(await call('POST', `/computers/${id}/desktop/launch`, { token: org.key, body: { app_name: 'no-such-app' } }), 422, 'VALIDATION_ERROR');
	});

	it('streams the desktop over /ws/desktop (RFB) with a single-use stream token', async () => {
		const tok = await call('POST', `/computers/${id}/stream-token`, { token: org.key, body: { read_only: true, expires_in: 120 } });
		expect(tok.status, tok.text).toBe(201);
		expect(tok.body).toMatchObject({ token: expect.stringMatching(/^dtk_/), url: expect.stringContaining(`/embed/computers/${id}?ticket=`), expires_at: expect.any(String) });
		const url = `${baseUrl().replace(/^http/, 'ws')}/ws/desktop?ticket=${encodeURIComponent(tok.body.token)}`;
		const t0 = performance.now();
		const v = await rfb(url);
		console.log(`RFB ServerInit through the control plane in ${Math.round(performance.now() - t0)} ms`);
		expect([v.width, v.height]).toEqual([1024, 768]);
		v.ws.close();
		await expect(rfb(url)).rejects.toMatchObject({ status: 401 });
		await expect(rfb(`${baseUrl().replace(/^http/, 'ws')}/ws/desktop?ticket=dtk_bogus`)).rejects.toMatchObject({ status: 401 });
	});

	it('take-over: API input refused with 409 while a person holds control; browser input only then', async () => {
		const mint = async (read_only = false) =>
			(await call('POST', `/computers/${id}/stream-token`, { token: org.key, body: { read_only } })).body.token as string;
		const wsUrl = (t: string) => `${baseUrl().replace(/^http/, 'ws')}/ws/desktop?ticket=${encodeURIComponent(t)}`;
		await call('POST', `/computers/${id}/desktop/move`, { token: org.key, body: { x: 100, y: 100 } });

		// While the agent holds control, browser pointer events are dropped.
		const viewer = await rfb(wsUrl(await mint()));
		viewer.ws.send(pointer(222, 111));
		await new Promise((r) => setTimeout(r, 300));
		expect((await call('GET', `/computers/${id}/desktop/cursor`, { token: org.key })).body).toMatchObject({ x: 100, y: 100 });

		const take = await call('POST', `/computers/${id}/control`, { token: org.key, body: { holder: 'user' } });
		expect(take.status, take.text).toBe(200);
		expect(take.body.holder).toBe('user');
		expect((await call('GET', `/computers/${id}`, { token: org.key })).body.control.holder).toBe('user');

		const refused = await call('POST', `/computers/${id}/desktop/click`, { token: org.key, body: { x: 10, y: 10 } });
		expectError(refused, 409, 'CONFLICT');
		expect(refused.body.error.details.control.holder).toBe('user');
		expectError(await call('POST', `/computers/${id}/desktop/type`, { token: org.key, body: { text: 'x' } }), 409, 'CONFLICT');
		// Reads still work for the agent.
		expect((await call('GET', `/computers/${id}/desktop/screenshot`, { token: org.key })).status).toBe(200);

		// Now the person's input reaches the desktop; a read-only watcher's does not.
		viewer.ws.send(pointer(333, 222));
		await waitFor(async () => {
			const c = await call('GET', `/computers/${id}/desktop/cursor`, { token: org.key });
			return c.body.x === 333 && c.body.y === 222;
		}, 5000, 100);
		const watcher = await rfb(wsUrl(await mint(true)));
		watcher.ws.send(pointer(10, 10));
		await new Promise((r) => setTimeout(r, 300));
		expect((await call('GET', `/computers/${id}/desktop/cursor`, { token: org.key })).body).toMatchObject({ x: 333, y: 222 });
		viewer.ws.close();
		watcher.ws.close();

		const back = await call('POST', `/computers/${id}/hand-back`, { token: org.key });
		expect(back.body.holder).toBe('agent');
		expect((await call('POST', `/computers/${id}/desktop/click`, { token: org.key, body: { x: 10, y: 10 } })).status).toBe(200);

		const ev = await call('GET', `/computers/${id}/events`, { token: org.key });
		const types = ev.body.data.map((e: any) => e.type);
		expect(types).toEqual(expect.arrayContaining(['computer.created', 'computer.started', 'computer.desktop.click', 'computer.desktop.type', 'computer.control.taken', 'computer.control.returned']));
		const click = ev.body.data.find((e: any) => e.type === 'computer.desktop.click');
		expect(click.data).toMatchObject({ computer_id: id, source: 'api', action: { type: 'click' } });
	});

	it('stop → 409 COMPUTER_NOT_RUNNING; start brings the same desktop back; restart; delete', async () => {
		await call('POST', `/computers/${id}/exec`, { token: org.key, body: { command: 'echo keep > /home/user/keep.txt' } });
		const stop = await call('POST', `/computers/${id}/stop`, { token: org.key });
		expect(stop.status, stop.text).toBe(200);
		expect(stop.body).toMatchObject({ id, status: 'stopped' });
		expectError(await call('GET', `/computers/${id}/desktop/screenshot`, { token: org.key }), 409, 'COMPUTER_NOT_RUNNING');
		expectError(await call('POST', `/computers/${id}/desktop/click`, { token: org.key, body: { x: 1, y: 1 } }), 409, 'COMPUTER_NOT_RUNNING');
		expectError(await call('POST', `/computers/${id}/exec`, { token: org.key, body: { command: 'true' } }), 409, 'COMPUTER_NOT_RUNNING');
		expectError(await call('POST', `/computers/${id}/stream-token`, { token: org.key, body: {} }), 409, 'COMPUTER_NOT_RUNNING');

		const start = await call('POST', `/computers/${id}/start`, { token: org.key });
		expect(start.status, start.text).toBe(200);
		expect(start.body.status).toBe('active');
		expect((await call('POST', `/computers/${id}/exec`, { token: org.key, body: { command: 'cat /home/user/keep.txt' } })).body.stdout).toBe('keep\n');
		expect((await screenshot(org, id)).buf.length).toBeGreaterThan(100);

		const restart = await call('POST', `/computers/${id}/restart`, { token: org.key });
		expect(restart.status, restart.text).toBe(200);
		expect(restart.body.status).toBe('active');
		pngSize((await screenshot(org, id)).buf);

		const del = await call('DELETE', `/computers/${id}`, { token: org.key });
		expect(del.status, del.text).toBe(200);
		expect(del.body.status).toBe('destroyed');
		expectError(await call('GET', `/computers/${id}/desktop/screenshot`, { token: org.key }), 409, 'COMPUTER_NOT_RUNNING');
		expect((await call('GET', '/computers', { token: org.key })).body.data.map((c: any) => c.id)).not.toContain(id);
		id = '';
	}, 60_000);
});
