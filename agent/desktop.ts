/**
 * Desktops inside sandboxes ("computers").
 *
 * `desktop.start` runs, inside the sandbox, as supervised processes (restarted when they die,
 * at most MAX_RESTARTS a minute):
 *   Xvnc :1 -rfbport -1 -rfbunixpath /tmp/.hangar-desktop/vnc.sock   (X server + VNC, no TCP port)
 *   xfwm4 --compositor=off                                              (or xfce4-session)
 * then opens an xterm once. `desktop.action` runs xdotool / `import` / xclip inside the sandbox
 * with DISPLAY=:1. The 'vnc' channel relays raw RFB bytes to the Xvnc socket through
 * `hangar-envd exec --unix-relay` (the socket exists only inside the sandbox's mount namespace).
 */
import type { Readable } from 'node:stream';
import {
	DESKTOP_DISPLAY,
	DESKTOP_MAX_DIM,
	DESKTOP_VNC_SOCKET,
	type DesktopAction,
	type DesktopActionResult,
	type DesktopInfo,
	type DesktopSession,
	type DesktopStartParams,
	type DesktopWindow,
	type MouseButton
} from '../src/lib/protocol/index';
import type { Channel, HandlerContext } from '../src/lib/protocol/peer';
import { fault } from './errors';
import { log } from './log';
import type { Sandbox, SandboxChild, SandboxManager } from './sandboxes';

const DESKTOP_DIR = '/tmp/.hangar-desktop';
const MAX_RESTARTS = 5;
const ACTION_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 15_000;
const BUTTONS: Record<MouseButton, number> = { left: 1, middle: 2, right: 3 };

interface Supervised {
	name: string;
	argv: string[];
	child: SandboxChild | null;
	pid: number | null;
	restarts: number[];
	running: boolean;
	stopped: boolean;
	tail: string[];
}

interface Desktop {
	sandboxId: string;
	width: number;
	height: number;
	session: DesktopSession;
	state: DesktopInfo['state'];
	startedAt: Date | null;
	readyMs: number | null;
	error?: string;
	procs: Supervised[];
	apps: Set<SandboxChild>;
	starting: Promise<void> | null;
}

const clampDim = (v: unknown, def: number) => {
	const n = Math.round(Number(v));
	return Number.isFinite(n) && n >= 64 && n <= DESKTOP_MAX_DIM ? n : def;
};

function int(v: unknown, name: string): number {
	const n = Number(v);
	if (!Number.isFinite(n)) throw fault('INVALID_PARAMS', `${name} must be a number`);
	return Math.round(n);
}

/** xdotool key names for common spellings ("ctrl+c", "Enter", "cmd+shift+t"). */
export function xdoKey(k: string): string {
	const map: Record<string, string> = {
		enter: 'Return',
		return: 'Return',
		esc: 'Escape',
		escape: 'Escape',
		backspace: 'BackSpace',
		tab: 'Tab',
		space: 'space',
		delete: 'Delete',
		del: 'Delete',
		insert: 'Insert',
		home: 'Home',
		end: 'End',
		pageup: 'Prior',
		page_up: 'Prior',
		pagedown: 'Next',
		page_down: 'Next',
		up: 'Up',
		down: 'Down',
		left: 'Left',
		right: 'Right',
		arrowup: 'Up',
		arrowdown: 'Down',
		arrowleft: 'Left',
		arrowright: 'Right',
		ctrl: 'ctrl',
		control: 'ctrl',
		alt: 'alt',
		option: 'alt',
		shift: 'shift',
		cmd: 'super',
		command: 'super',
		meta: 'super',
		super: 'super',
		win: 'super',
		windows: 'super',
		capslock: 'Caps_Lock',
		printscreen: 'Print',
		menu: 'Menu'
	};
	return k
		.split('+')
		.map((p) => p.trim())
		.filter(Boolean)
		.map((p) => map[p.toLowerCase()] ?? (/^f\d{1,2}$/i.test(p) ? p.toUpperCase() : p))
		.join('+');
}

export class DesktopManager {
	private desktops = new Map<string, Desktop>();

	constructor(private readonly manager: SandboxManager) {
		manager.onGone.push((sb: Sandbox) => {
			if (sb.id) this.forget(sb.id);
		});
	}

	private env(d: { width: number; height: number }): Record<string, string> {
		return {
			DISPLAY: DESKTOP_DISPLAY,
			XDG_RUNTIME_DIR: `${DESKTOP_DIR}/xdg`,
			NO_AT_BRIDGE: '1',
			HANGAR_SCREEN: `${d.width}x${d.height}`
		};
	}

	info(id: string): DesktopInfo {
		const d = this.desktops.get(id);
		if (!d) {
			this.manager.get(id);
			return { sandbox_id: id, state: 'stopped', display: DESKTOP_DISPLAY, width: 0, height: 0, session: 'minimal', started_at: null, ready_ms: null, processes: [] };
		}
		return {
			sandbox_id: id,
			state: d.state,
			display: DESKTOP_DISPLAY,
			width: d.width,
			height: d.height,
			session: d.session,
			started_at: d.startedAt?.toISOString() ?? null,
			ready_ms: d.readyMs,
			processes: d.procs.map((p) => ({ name: p.name, pid: p.pid, running: p.running, restarts: p.restarts.length })),
			...(d.error ? { error: d.error } : {})
		};
	}

	// ------------------------------------------------------------------ lifecycle

	async start(p: DesktopStartParams): Promise<DesktopInfo> {
		this.manager.get(p.sandbox_id);
		let d = this.desktops.get(p.sandbox_id);
		if (d && (d.state === 'running' || d.state === 'starting')) {
			await d.starting;
			return this.info(p.sandbox_id);
		}
		d = {
			sandboxId: p.sandbox_id,
			width: clampDim(p.width, 1280),
			height: clampDim(p.height, 800),
			session: p.session === 'xfce' ? 'xfce' : 'minimal',
			state: 'starting',
			startedAt: null,
			readyMs: null,
			procs: [],
			apps: new Set(),
			starting: null
		};
		this.desktops.set(p.sandbox_id, d);
		const desk = d;
		desk.starting = this.boot(desk, p).catch((e: Error) => {
			desk.state = 'failed';
			desk.error = e.message;
			this.stopProcs(desk);
			throw e;
		});
		try {
			await desk.starting;
		} catch (e) {
			const err = e as Error & { code?: string };
			throw err.code ? err : fault('DESKTOP_UNAVAILABLE', err.message);
		}
		return this.info(p.sandbox_id);
	}

	private async boot(d: Desktop, p: DesktopStartParams): Promise<void> {
		const t0 = performance.now();
		const id = d.sandboxId;
		// Private runtime dir (the VNC socket lives here, not in a host directory).
		const prep = await this.run(id, ['/bin/sh', '-c', `mkdir -p ${DESKTOP_DIR}/xdg && chmod 700 ${DESKTOP_DIR} ${DESKTOP_DIR}/xdg && rm -f ${DESKTOP_VNC_SOCKET} /tmp/.X1-lock /tmp/.X11-unix/X1`], { env: this.env(d) });
		if (prep.code !== 0) throw fault('DESKTOP_UNAVAILABLE', `preparing the desktop failed: ${prep.stderr}`);
		const has = await this.run(id, ['/bin/sh', '-c', 'for c in Xvnc xfwm4 xdotool import xclip xterm xfce4-session dbus-run-session dbus-launch; do command -v $c >/dev/null && echo $c; done'], { env: this.env(d) });
		const found = new Set(has.stdout.split('\n').filter(Boolean));
		for (const need of ['Xvnc', 'xdotool', 'import']) {
			if (!found.has(need)) throw fault('DESKTOP_UNAVAILABLE', `${need} is not installed in this sandbox's template (use a desktop template)`);
		}
		if (d.session === 'xfce' && !found.has('xfce4-session')) d.session = 'minimal';
		this.supervise(d, 'Xvnc', [
			'Xvnc',
			DESKTOP_DISPLAY,
			'-geometry',
			`${d.width}x${d.height}`,
			'-depth',
			'24',
			'-SecurityTypes',
			'None',
			'-rfbport',
			'-1',
			'-rfbunixpath',
			DESKTOP_VNC_SOCKET,
			'-rfbunixmode',
			'0600',
			'-AlwaysShared',
			'-nolisten',
			'tcp',
			'-desktop',
			'hangar'
		]);
		// Wait for the X socket and the VNC socket (usually ~50 ms).
		const wait = await this.run(
			id,
			['/bin/sh', '-c', `i=0; while [ $i -lt 600 ]; do [ -S ${DESKTOP_VNC_SOCKET} ] && [ -S /tmp/.X11-unix/X1 ] && exit 0; sleep 0.02; i=$((i+1)); done; exit 1`],
			{ env: this.env(d), timeoutMs: READY_TIMEOUT_MS }
		);
		if (wait.code !== 0) {
			const x = d.procs.find((q) => q.name === 'Xvnc');
			throw fault('DESKTOP_UNAVAILABLE', `Xvnc did not start: ${x?.tail.slice(-5).join(' | ') ?? ''}`);
		}
		d.readyMs = Math.round(performance.now() - t0);
		await this.run(id, ['/bin/sh', '-c', 'command -v xsetroot >/dev/null && xsetroot -solid "#2e5e8e"; exit 0'], { env: this.env(d) });
		if (d.session === 'xfce') this.supervise(d, 'xfce4-session', ['dbus-launch', '--exit-with-session', 'xfce4-session']);
		else if (found.has('xfwm4')) {
			// xfwm4 needs xfconf, which needs a session bus: give it a private one.
			const wm = ['xfwm4', '--compositor=off', '--sm-client-disable'];
			this.supervise(d, 'xfwm4', found.has('dbus-run-session') ? ['dbus-run-session', '--', ...wm] : wm);
			// Input and window actions work best once the window manager owns the screen.
			await this.run(id, ['/bin/sh', '-c', 'i=0; while [ $i -lt 150 ]; do xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q "window id" && exit 0; sleep 0.02; i=$((i+1)); done; exit 1'], { env: this.env(d), timeoutMs: 5000 });
		}
		d.state = 'running';
		d.startedAt = new Date();
		if (p.terminal !== false && found.has('xterm') && d.session === 'minimal') this.launch(d, 'terminal', []);
		for (const app of p.apps ?? []) {
			try {
				await this.launchResolved(d, app, []);
			} catch (e) {
				log.warn('desktop app launch failed', { id, app, error: String(e) });
			}
		}
	}

	private supervise(d: Desktop, name: string, argv: string[]): void {
		const s: Supervised = { name, argv, child: null, pid: null, restarts: [], running: false, stopped: false, tail: [] };
		d.procs.push(s);
		const spawnOnce = () => {
			if (s.stopped) return;
			let child: SandboxChild;
			try {
				child = this.manager.spawn(d.sandboxId, argv, { cwd: '/home/user', env: this.env(d), stdio: ['ignore', 'pipe', 'pipe'] });
			} catch (e) {
				s.running = false;
				d.error = `${name}: ${(e as Error).message}`;
				return;
			}
			s.child = child;
			s.running = true;
			const keep = (c: Buffer) => {
				for (const l of c.toString('utf8').split('\n')) if (l.trim()) s.tail.push(l.slice(0, 300));
				if (s.tail.length > 40) s.tail.splice(0, s.tail.length - 40);
			};
			(child.stdout as Readable).on('data', keep);
			(child.stderr as Readable).on('data', keep);
			child.sandboxPid.then((p) => (s.pid = p.pid)).catch(() => undefined);
			child.on('exit', (code, sig) => {
				s.running = false;
				s.pid = null;
				s.child = null;
				if (s.stopped || !this.desktops.has(d.sandboxId)) return;
				const now = Date.now();
				s.restarts = s.restarts.filter((t) => t > now - 60_000);
				log.warn('desktop process exited', { id: d.sandboxId, name, code, signal: sig, tail: s.tail.slice(-3) });
				if (s.restarts.length >= MAX_RESTARTS) {
					d.error = `${name} keeps exiting (${code ?? sig})`;
					if (name === 'Xvnc') d.state = 'failed';
					return;
				}
				s.restarts.push(now);
				setTimeout(spawnOnce, 300).unref();
			});
		};
		spawnOnce();
	}

	private stopProcs(d: Desktop): void {
		for (const s of [...d.procs].reverse()) {
			s.stopped = true;
			killChild(s.child);
		}
		for (const a of d.apps) killChild(a);
		d.apps.clear();
	}

	async stop(id: string): Promise<boolean> {
		const d = this.desktops.get(id);
		if (!d) return false;
		this.desktops.delete(id);
		this.stopProcs(d);
		d.state = 'stopped';
		// Leave no stale lock/socket behind for the next start.
		try {
			await this.run(id, ['/bin/sh', '-c', `sleep 0.1; pkill -x Xvnc; pkill -x xfwm4; rm -f ${DESKTOP_VNC_SOCKET} /tmp/.X1-lock /tmp/.X11-unix/X1; exit 0`], {});
		} catch {
			/* sandbox gone */
		}
		return true;
	}

	private forget(id: string): void {
		const d = this.desktops.get(id);
		if (!d) return;
		this.desktops.delete(id);
		this.stopProcs(d);
	}

	shutdown(): void {
		for (const id of [...this.desktops.keys()]) this.forget(id);
	}

	private running(id: string): Desktop {
		this.manager.get(id);
		const d = this.desktops.get(id);
		if (!d || d.state !== 'running') throw fault('DESKTOP_NOT_RUNNING', `the desktop of sandbox ${id} is ${d?.state ?? 'not started'}`);
		return d;
	}

	// ------------------------------------------------------------------ running things inside

	run(
		id: string,
		argv: string[],
		o: { env?: Record<string, string>; stdin?: Buffer | string; timeoutMs?: number; binary?: boolean; waitExitOnly?: boolean }
	): Promise<{ code: number; stdout: string; stderr: string; out: Buffer }> {
		return new Promise((resolve, reject) => {
			let child: SandboxChild;
			try {
				child = this.manager.spawn(id, argv, {
					cwd: '/home/user',
					env: o.env,
					stdio: [o.stdin !== undefined ? 'pipe' : 'ignore', o.waitExitOnly ? 'ignore' : 'pipe', o.waitExitOnly ? 'ignore' : 'pipe']
				});
			} catch (e) {
				return reject(e);
			}
			const out: Buffer[] = [];
			const err: Buffer[] = [];
			child.stdout?.on('data', (c: Buffer) => out.push(c));
			child.stderr?.on('data', (c: Buffer) => {
				if (err.reduce((n, b) => n + b.length, 0) < 64 * 1024) err.push(c);
			});
			const timer = setTimeout(() => killChild(child), o.timeoutMs ?? ACTION_TIMEOUT_MS);
			if (o.stdin !== undefined) child.stdin?.end(o.stdin);
			child.once('error', (e) => {
				clearTimeout(timer);
				reject(e);
			});
			child.once(o.waitExitOnly ? 'exit' : 'close', (code: number | null) => {
				clearTimeout(timer);
				const buf = Buffer.concat(out);
				resolve({ code: code ?? 1, stdout: buf.toString('utf8'), stderr: Buffer.concat(err).toString('utf8').trim(), out: buf });
			});
		});
	}

	private async xdo(d: Desktop, args: string[]): Promise<string> {
		const r = await this.run(d.sandboxId, ['xdotool', ...args], { env: this.env(d) });
		if (r.code !== 0) throw fault('DESKTOP_ACTION_FAILED', `xdotool ${args[0]} failed: ${r.stderr || `exit ${r.code}`}`);
		return r.stdout;
	}

	private point(d: Desktop, x: unknown, y: unknown): [number, number] {
		const px = int(x, 'x');
		const py = int(y, 'y');
		if (px < 0 || py < 0 || px >= d.width || py >= d.height)
			throw fault('INVALID_PARAMS', `(${px}, ${py}) is outside the ${d.width}x${d.height} screen`);
		return [px, py];
	}

	private launch(d: Desktop, app: string, args: string[]): SandboxChild {
		const child = this.manager.spawn(d.sandboxId, ['/bin/sh', '-c', LAUNCHER, 'launch', app, ...args], {
			cwd: '/home/user',
			env: this.env(d),
			stdio: ['ignore', 'ignore', 'pipe']
		});
		d.apps.add(child);
		child.on('exit', () => d.apps.delete(child));
		return child;
	}

	private async launchResolved(d: Desktop, app: string, args: string[]): Promise<number> {
		if (!/^[A-Za-z0-9._+-]{1,64}$/.test(app)) throw fault('INVALID_PARAMS', 'app_name may only hold letters, digits and . _ + -');
		const child = this.launch(d, app, args);
		let stderr = '';
		(child.stderr as Readable).on('data', (c: Buffer) => (stderr += c.toString('utf8')));
		const early = await Promise.race([
			new Promise<number | null>((r) => child.once('exit', (code) => r(code ?? 1))),
			new Promise<null>((r) => setTimeout(() => r(null), 400))
		]);
		if (early === 127) throw fault('INVALID_PARAMS', `no application named ${app} is installed`);
		if (early !== null && early !== 0) throw fault('DESKTOP_ACTION_FAILED', `${app} exited at once (${early}): ${stderr.trim().slice(0, 300)}`);
		const p = await child.sandboxPid.catch(() => null);
		return p?.pid ?? 0;
	}

	// ------------------------------------------------------------------ actions

	async action(id: string, a: DesktopAction, _ctx?: HandlerContext): Promise<DesktopActionResult> {
		if (!a || typeof a !== 'object' || typeof a.type !== 'string') throw fault('INVALID_PARAMS', 'action.type is required');
		const d = this.running(id);
		const t0 = performance.now();
		const done = (r: Omit<DesktopActionResult, 'duration_ms'> = {}): DesktopActionResult => ({
			...r,
			duration_ms: Math.round((performance.now() - t0) * 10) / 10
		});
		const btn = (b: unknown) => {
			const n = BUTTONS[(b as MouseButton) ?? 'left'];
			if (!n) throw fault('INVALID_PARAMS', 'button must be left, right or middle');
			return String(n);
		};
		switch (a.type) {
			case 'screenshot': {
				let geom = '';
				if (a.region) {
					const [x, y] = this.point(d, a.region.x, a.region.y);
					const w = int(a.region.width, 'width');
					const h = int(a.region.height, 'height');
					if (w < 1 || h < 1 || x + w > d.width || y + h > d.height)
						throw fault('INVALID_PARAMS', `region ${w}x${h}+${x}+${y} is outside the ${d.width}x${d.height} screen`);
					geom = `${w}x${h}+${x}+${y}`;
				}
				// zlib level 3, no row filter: ~40 % faster than the defaults on desktop content, a bit larger.
				const argv = ['import', '-silent', '-window', 'root', ...(geom ? ['-crop', geom, '+repage'] : []), '-define', 'png:compression-level=3', '-define', 'png:compression-filter=0', 'png:-'];
				const r = await this.run(id, argv, { env: this.env(d) });
				if (r.code !== 0 || r.out.length < 8) throw fault('DESKTOP_ACTION_FAILED', `screenshot failed: ${r.stderr || `exit ${r.code}`}`);
				const w = r.out.readUInt32BE(16);
				const h = r.out.readUInt32BE(20);
				return done({ png_b64: r.out.toString('base64'), width: w, height: h });
			}
			case 'click': {
				const count = Math.max(1, Math.min(3, a.count ?? 1));
				const args = a.x !== undefined || a.y !== undefined ? ['mousemove', ...this.point(d, a.x, a.y).map(String)] : [];
				await this.xdo(d, [...args, 'click', '--repeat', String(count), '--delay', '60', btn(a.button)]);
				return done();
			}
			case 'move': {
				await this.xdo(d, ['mousemove', ...this.point(d, a.x, a.y).map(String)]);
				return done();
			}
			case 'mouse_down':
			case 'mouse_up': {
				const args = a.x !== undefined || a.y !== undefined ? ['mousemove', ...this.point(d, a.x, a.y).map(String)] : [];
				await this.xdo(d, [...args, a.type === 'mouse_down' ? 'mousedown' : 'mouseup', btn(a.button)]);
				return done();
			}
			case 'drag': {
				const [fx, fy] = this.point(d, a.from_x, a.from_y);
				const [tx, ty] = this.point(d, a.to_x, a.to_y);
				const b = btn(a.button);
				const mx = Math.round((fx + tx) / 2);
				const my = Math.round((fy + ty) / 2);
				await this.xdo(d, ['mousemove', String(fx), String(fy), 'mousedown', b, 'sleep', '0.05', 'mousemove', String(mx), String(my), 'sleep', '0.05', 'mousemove', String(tx), String(ty), 'sleep', '0.05', 'mouseup', b]);
				return done();
			}
			case 'scroll': {
				const dirs = { up: '4', down: '5', left: '6', right: '7' } as const;
				const b = dirs[a.direction];
				if (!b) throw fault('INVALID_PARAMS', 'direction must be up, down, left or right');
				const clicks = Math.max(1, Math.min(100, Math.round(a.clicks ?? 3)));
				const args = a.x !== undefined || a.y !== undefined ? ['mousemove', ...this.point(d, a.x, a.y).map(String)] : [];
				await this.xdo(d, [...args, 'click', '--repeat', String(clicks), '--delay', '20', b]);
				return done();
			}
			case 'type': {
				if (typeof a.text !== 'string') throw fault('INVALID_PARAMS', 'text is required');
				if (a.text.length > 100_000) throw fault('INVALID_PARAMS', 'text is too long (max 100000 characters)');
				const delay = Math.max(0, Math.min(1000, Math.round(a.delay_ms ?? 8)));
				// Newlines as Return keys: xdotool type handles '\n' but some apps want the key.
				await this.xdo(d, ['type', '--delay', String(delay), '--', a.text]);
				return done();
			}
			case 'key': {
				const keys = (Array.isArray(a.keys) ? a.keys : []).map(String).filter(Boolean);
				if (!keys.length) throw fault('INVALID_PARAMS', 'key is required');
				await this.xdo(d, ['key', '--delay', '30', '--', ...keys.map(xdoKey)]);
				return done();
			}
			case 'key_down':
			case 'key_up': {
				if (!a.key) throw fault('INVALID_PARAMS', 'key is required');
				await this.xdo(d, [a.type === 'key_down' ? 'keydown' : 'keyup', '--', xdoKey(String(a.key))]);
				return done();
			}
			case 'clipboard_get': {
				const r = await this.run(id, ['xclip', '-selection', 'clipboard', '-o'], { env: this.env(d), timeoutMs: 5000 });
				// xclip exits 1 when nothing owns the clipboard: that is an empty clipboard.
				return done({ text: r.code === 0 ? r.stdout : '' });
			}
			case 'clipboard_set': {
				if (typeof a.text !== 'string') throw fault('INVALID_PARAMS', 'text is required');
				// xclip forks a child that serves the selection; the parent exits once it owns it.
				const r = await this.run(id, ['xclip', '-selection', 'clipboard', '-i'], { env: this.env(d), stdin: a.text, waitExitOnly: true, timeoutMs: 5000 });
				if (r.code !== 0) throw fault('DESKTOP_ACTION_FAILED', `setting the clipboard failed (exit ${r.code})`);
				return done();
			}
			case 'cursor': {
				const out = await this.xdo(d, ['getmouselocation', '--shell']);
				const v = Object.fromEntries(out.split('\n').map((l) => l.split('=')).filter((p) => p.length === 2)) as Record<string, string>;
				return done({ x: Number(v.X), y: Number(v.Y) });
			}
			case 'screen_size':
				return done({ width: d.width, height: d.height });
			case 'windows':
				return done({ windows: await this.windows(d) });
			case 'window': {
				const w = windowId(a.window_id);
				if (a.op === 'focus' || a.op === 'raise') {
					await this.xdo(d, ['windowactivate', w]).catch(() => this.xdo(d, ['windowraise', w, 'windowfocus', w]));
				}
				else if (a.op === 'close') await this.xdo(d, ['windowclose', w]);
				else if (a.op === 'minimize') await this.xdo(d, ['windowminimize', w]);
				else if (a.op === 'maximize') await this.xdo(d, ['windowactivate', w, 'windowmove', w, '0', '0', 'windowsize', w, '100%', '100%']);
				else throw fault('INVALID_PARAMS', 'op must be focus, close, minimize, maximize or raise');
				return done();
			}
			case 'window_geometry': {
				const w = windowId(a.window_id);
				const args: string[] = [];
				if (a.x !== undefined || a.y !== undefined) args.push('windowmove', w, String(int(a.x ?? 0, 'x')), String(int(a.y ?? 0, 'y')));
				if (a.width !== undefined || a.height !== undefined) {
					const ww = int(a.width, 'width');
					const hh = int(a.height, 'height');
					if (ww < 1 || hh < 1 || ww > DESKTOP_MAX_DIM || hh > DESKTOP_MAX_DIM) throw fault('INVALID_PARAMS', 'width/height out of range');
					args.push('windowsize', w, String(ww), String(hh));
				}
				if (args.length) await this.xdo(d, args);
				const win = (await this.windows(d)).find((x) => x.id === w);
				if (!win) throw fault('NOT_FOUND', `window ${w} not found`);
				return done({ window: win });
			}
			case 'launch': {
				const args = Array.isArray(a.args) ? a.args.map(String).slice(0, 32) : [];
				const pid = await this.launchResolved(d, String(a.app ?? ''), args);
				return done({ pid });
			}
			case 'environment': {
				const wm = d.procs.find((p) => p.name !== 'Xvnc')?.name ?? 'none';
				return done({ environment: { name: d.session === 'xfce' ? 'XFCE' : 'xfwm4', version: null, window_manager: wm, display: DESKTOP_DISPLAY } });
			}
			default:
				throw fault('INVALID_PARAMS', `unknown desktop action ${(a as { type: string }).type}`);
		}
	}

	private async windows(d: Desktop): Promise<DesktopWindow[]> {
		const r = await this.run(d.sandboxId, ['/bin/sh', '-c', WINDOWS_SCRIPT], { env: this.env(d) });
		if (r.code !== 0) throw fault('DESKTOP_ACTION_FAILED', `listing windows failed: ${r.stderr}`);
		const out: DesktopWindow[] = [];
		for (const line of r.stdout.split('\n')) {
			const f = line.split('\t');
			if (f.length < 8) continue;
			const [id, x, y, w, h, focused, hidden, pid, title64] = f;
			out.push({
				id,
				title: Buffer.from(title64 ?? '', 'base64').toString('utf8').replace(/\n$/, ''),
				x: Number(x),
				y: Number(y),
				width: Number(w),
				height: Number(h),
				is_focused: focused === '1',
				is_minimized: hidden === '1',
				pid: Number(pid) || null
			});
		}
		return out;
	}

	// ------------------------------------------------------------------ VNC channel

	/** Relays a channel to the Xvnc socket inside the sandbox. */
	vnc(sandboxId: string, ch: Channel): void {
		this.running(sandboxId);
		const child = this.manager.spawn(sandboxId, ['vnc-relay'], { unixRelay: DESKTOP_VNC_SOCKET, stdio: ['pipe', 'pipe', 'pipe'] });
		let stderr = '';
		child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
		ch.pipe(child.stdin!);
		child.stdout!.pipe(ch);
		ch.on('close', () => killChild(child));
		ch.on('error', () => killChild(child));
		child.on('exit', (code) => {
			if (code && code !== 0 && code !== 137 && code !== 143) log.warn('vnc relay exited', { sandboxId, code, stderr: stderr.trim().slice(0, 200) });
		});
	}
}

function windowId(v: unknown): string {
	const s = String(v ?? '');
	if (/^\d{1,12}$/.test(s)) return s;
	if (/^0x[0-9a-f]{1,10}$/i.test(s)) return String(parseInt(s, 16));
	throw fault('INVALID_PARAMS', 'window_id must be a window id from the windows list');
}

function killChild(c: SandboxChild | null | undefined): void {
	if (!c || c.exitCode !== null || c.signalCode !== null) return;
	c.sandboxPid
		.then(({ hostPid }) => {
			try {
				process.kill(-hostPid, 'SIGTERM');
			} catch {
				/* gone */
			}
		})
		.catch(() => undefined);
	try {
		c.kill('SIGTERM');
	} catch {
		/* gone */
	}
	setTimeout(() => {
		try {
			if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
		} catch {
			/* gone */
		}
	}, 1500).unref();
}

/** Launches an app by friendly name ("terminal", "browser", "chromium", "firefox", …) or command name. */
const LAUNCHER = `app="$1"; shift
case "$app" in
  terminal|xterm) set -- xterm -title Terminal -fa DejaVuSansMono -fs 11 "$@"; command -v xterm >/dev/null || set -- xfce4-terminal ;;
  xfce4-terminal) set -- xfce4-terminal "$@" ;;
  browser|chrome|chromium|google-chrome|firefox|firefox-esr|web-browser)
    found=
    for b in chromium chromium-browser google-chrome firefox-esr firefox; do
      if command -v $b >/dev/null; then
        found=1
        case $b in chrom*|google*) set -- $b --no-sandbox --no-first-run --disable-dev-shm-usage --password-store=basic "$@" ;; *) set -- $b "$@" ;; esac
        break
      fi
    done
    [ -n "$found" ] || exit 127 ;;
  files|file-manager|thunar) set -- thunar "$@" ;;
  *) set -- "$app" "$@" ;;
esac
command -v "$1" >/dev/null || exit 127
exec "$@" >/dev/null`;

/** One line per managed window: id x y w h focused hidden pid base64(title), tab-separated. */
const WINDOWS_SCRIPT = `active=$(xdotool getactivewindow 2>/dev/null)
ids=$(xprop -root _NET_CLIENT_LIST 2>/dev/null | sed -n 's/.*# //p' | tr ',' ' ')
[ -n "$ids" ] || ids=$(xdotool search --onlyvisible --name '.' 2>/dev/null)
for w in $ids; do
  w=$(printf '%d' "$w")
  g=$(xdotool getwindowgeometry --shell "$w" 2>/dev/null) || continue
  eval "$g"
  st=$(xprop -id "$w" _NET_WM_STATE 2>/dev/null)
  hidden=0; case "$st" in *HIDDEN*) hidden=1 ;; esac
  f=0; [ "$w" = "$active" ] && f=1
  pid=$(xdotool getwindowpid "$w" 2>/dev/null || echo 0)
  t=$(xdotool getwindowname "$w" 2>/dev/null | base64 | tr -d '\\n')
  printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$w" "$X" "$Y" "$WIDTH" "$HEIGHT" "$f" "$hidden" "$pid" "$t"
done`;
