/**
 * PTY sessions in real sandboxes, through the real hub: create, attach over a 'pty' channel,
 * type, resize, detach/reattach with scrollback replay, kill, exit codes, idle timeout, flow
 * control under a `yes` flood, sandbox destroy.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PtyAttachParams, PtyControl } from '../../src/lib/protocol/index';
import type { Channel } from '../../src/lib/protocol/peer';
import { PtyFrameDecoder } from '../../src/lib/server/terminals/frames';
import type { Agent } from '../main';
import { HOST_ID, SIZE, cleanupDir, sid, startControlPlane, startTestAgent, tempDir, waitFor, type TestControlPlane } from './harness';

const IDLE_MS = 4000;

let cp: TestControlPlane;
let agent: Agent;
let dir: string;
let sandboxId: string;

beforeAll(async () => {
	dir = tempDir('pty');
	cp = await startControlPlane();
	agent = await startTestAgent(cp, { dataDir: dir, ptyIdleMs: IDLE_MS });
	sandboxId = sid();
	await cp.hub.call(HOST_ID, 'sandbox.create', { id: sandboxId, template: 'host-minimal', size: SIZE });
});

afterAll(async () => {
	await agent?.stop();
	await cp?.close();
	if (dir) await cleanupDir(dir);
});

interface Viewer {
	ch: Channel;
	/** Everything received as terminal output (replay included). */
	text: string;
	controls: PtyControl[];
	ended: boolean;
	closed: boolean;
	exit(): PtyControl | undefined;
	/** Waits for `re` in the output received after `from` (default: since attach). */
	waitText(re: RegExp, from?: number, ms?: number): Promise<RegExpMatchArray>;
	type(s: string): void;
}

async function attach(params: Partial<PtyAttachParams> & { session_id: string }): Promise<Viewer> {
	const ch = await cp.hub.openChannel(HOST_ID, 'pty', { sandbox_id: sandboxId, create: false, ...params });
	const dec = new PtyFrameDecoder();
	const v: Viewer = {
		ch,
		text: '',
		controls: [],
		ended: false,
		closed: false,
		exit: () => v.controls.find((c) => c.type === 'exit'),
		async waitText(re, from = 0, ms = 10_000) {
			return waitFor(() => v.text.slice(from).match(re), ms, `output ${re} (got ${JSON.stringify(v.text.slice(-300))})`);
		},
		type: (s) => void ch.write(s)
	};
	ch.on('data', (c: Buffer) => {
		for (const m of dec.push(c)) {
			if (m.kind === 'data') v.text += m.data.toString('utf8');
			else v.controls.push(m.control);
		}
	});
	ch.on('end', () => {
		v.ended = true;
		ch.destroy();
	});
	ch.on('close', () => (v.closed = true));
	ch.on('error', () => undefined);
	return v;
}

const create = (session_id: string, extra: Record<string, unknown> = {}) =>
	cp.hub.call(HOST_ID, 'pty.create', { sandbox_id: sandboxId, session_id, cols: 80, rows: 24, ...extra });
const list = async () => (await cp.hub.call(HOST_ID, 'pty.list', { sandbox_id: sandboxId })).sessions;

/** Runs a command and returns its output, between markers the shell expands (so the echoed command line never matches). */
async function run(v: Viewer, command: string): Promise<string> {
	const mark = `M${Math.random().toString(36).slice(2, 8)}`;
	const from = v.text.length;
	v.type(`echo ${mark}-$((1))-BEGIN; ${command}; echo ${mark}-$((2))-END\r`);
	const m = await v.waitText(new RegExp(`${mark}-1-BEGIN\\r?\\n([\\s\\S]*?)${mark}-2-END`), from);
	return m[1].replace(/\r/g, '');
}

describe('pty sessions', () => {
	test('spawn a login shell, type, read; TERM and uid', async () => {
		const session = sid('pty');
		const info = await create(session);
		expect(info).toMatchObject({ session_id: session, sandbox_id: sandboxId, shell: ['/bin/bash', '-l'], cwd: '/workspace', cols: 80, rows: 24, state: 'running', attached: 0 });
		const v = await attach({ session_id: session });
		await waitFor(() => v.controls.length, 5000, 'attached frame');
		expect(v.controls[0]).toMatchObject({ type: 'attached', session: { session_id: session } });
		const from = v.text.length;
		v.type('echo hello\r');
		await v.waitText(/[\r\n]hello\r\n/, from);
		expect((await run(v, 'echo "$TERM $(id -u) $(pwd)"')).trim()).toBe('xterm-256color 1000 /workspace');
		expect((await list()).find((s) => s.session_id === session)).toMatchObject({ attached: 1, state: 'running' });
		v.ch.destroy();
		await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session });
	});

	test('resize: by method and on attach; stty size follows', async () => {
		const session = sid('pty');
		await create(session, { cols: 100, rows: 30 });
		const v = await attach({ session_id: session });
		expect((await run(v, 'stty size')).trim()).toBe('30 100');
		const r = await cp.hub.call(HOST_ID, 'pty.resize', { sandbox_id: sandboxId, session_id: session, cols: 132, rows: 43 });
		expect(r).toMatchObject({ cols: 132, rows: 43 });
		expect((await run(v, 'stty size')).trim()).toBe('43 132');
		v.ch.destroy();
		const w = await attach({ session_id: session, cols: 90, rows: 20 });
		expect((await run(w, 'stty size')).trim()).toBe('20 90');
		await expect(cp.hub.call(HOST_ID, 'pty.resize', { sandbox_id: sandboxId, session_id: session, cols: 0, rows: 20 })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
		w.ch.destroy();
		await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session });
	});

	test('detach keeps the shell; reattach replays the scrollback and the state is kept', async () => {
		const session = sid('pty');
		await create(session);
		const v = await attach({ session_id: session });
		await run(v, 'export KEPT=value-42; cd /tmp; echo before-detach');
		v.ch.destroy();
		await waitFor(async () => (await list()).find((s) => s.session_id === session)?.attached === 0, 5000, 'detach');
		expect((await list()).find((s) => s.session_id === session)?.state).toBe('running');

		const w = await attach({ session_id: session });
		await waitFor(() => w.controls.length, 5000, 'attached frame');
		const attached = w.controls[0] as Extract<PtyControl, { type: 'attached' }>;
		expect(attached.replay_bytes).toBeGreaterThan(0);
		// The replay came before anything else and holds the earlier output.
		expect(w.text).toContain('before-detach');
		expect((await run(w, 'echo "$KEPT $(pwd)"')).trim()).toBe('value-42 /tmp');

		// Two viewers share the session.
		const x = await attach({ session_id: session });
		const fromX = x.text.length;
		w.type('echo shared-$((20+22))\r');
		await x.waitText(/shared-42/, fromX);
		x.ch.destroy();
		w.ch.destroy();
		await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session });
	});

	test('exit 3 ends the session: exit frame, EOF, event, tombstone', async () => {
		const session = sid('pty');
		await create(session);
		const v = await attach({ session_id: session });
		await run(v, 'true');
		v.type('exit 3\r');
		await waitFor(() => v.ended, 10_000, 'EOF');
		expect(v.exit()).toEqual({ type: 'exit', exit_code: 3, signal: null });
		await waitFor(() => cp.events.find((e) => e.name === 'pty.exited' && (e.data as { session_id: string }).session_id === session), 5000, 'event');
		expect(cp.events.find((e) => e.name === 'pty.exited' && (e.data as { session_id: string }).session_id === session)?.data).toEqual({
			sandbox_id: sandboxId,
			session_id: session,
			exit_code: 3,
			signal: null,
			reason: 'exited'
		});
		expect((await list()).find((s) => s.session_id === session)).toMatchObject({ state: 'exited', exit_code: 3 });
		// A late viewer gets the replay and the exit code, then EOF.
		const late = await attach({ session_id: session });
		await waitFor(() => late.ended, 5000, 'late EOF');
		expect(late.exit()).toMatchObject({ exit_code: 3 });
		expect(late.text).toContain('exit 3');
	});

	test('pty.kill ends a running session (HUP), even with a busy foreground job', async () => {
		const session = sid('pty');
		await create(session);
		const v = await attach({ session_id: session });
		await run(v, 'true');
		v.type('sleep 1000\r');
		await new Promise((r) => setTimeout(r, 200));
		const t0 = Date.now();
		expect(await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session })).toEqual({ killed: true });
		await waitFor(() => v.ended, 10_000, 'EOF after kill');
		expect(Date.now() - t0).toBeLessThan(5000);
		expect(v.exit()?.type).toBe('exit');
		const ev = await waitFor(() => cp.events.find((e) => e.name === 'pty.exited' && (e.data as { session_id: string }).session_id === session), 5000, 'event');
		expect((ev.data as { reason: string }).reason).toBe('killed');
		expect(await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session })).toEqual({ killed: false });
		// No stray sleep left in the sandbox.
		const ps = await cp.hub.call(HOST_ID, 'exec.run', { sandbox_id: sandboxId, command: 'ps -eo args' });
		expect(ps.stdout).not.toContain('sleep 1000');
	});

	test('shell, cwd and env options; create on first attach; unknown sessions', async () => {
		const session = sid('pty');
		await create(session, { shell: '/bin/sh', cwd: '/tmp', env: { GREETING: 'hi-there' } });
		const v = await attach({ session_id: session });
		expect((await run(v, 'echo "$0 $(pwd) $GREETING"')).trim()).toBe('/bin/sh /tmp hi-there');
		v.ch.destroy();
		await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session });

		// Attach without create: false makes the session.
		const fresh = sid('pty');
		const w = await attach({ session_id: fresh, create: true, cols: 70, rows: 21 });
		expect((await run(w, 'stty size')).trim()).toBe('21 70');
		w.ch.destroy();
		await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: fresh });

		await expect(attach({ session_id: 'nope' })).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
		await expect(cp.hub.call(HOST_ID, 'pty.resize', { sandbox_id: sandboxId, session_id: 'nope', cols: 10, rows: 10 })).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
		await expect(create(sid('pty'), { sandbox_id: 'missing' })).rejects.toMatchObject({ code: 'SANDBOX_NOT_FOUND' });
		await expect(create(sid('pty'), { cwd: 'relative' })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
	});

	test('a session is bound to its sandbox', async () => {
		const other = sid();
		await cp.hub.call(HOST_ID, 'sandbox.create', { id: other, template: 'host-minimal', size: SIZE });
		try {
			const session = sid('pty');
			await create(session);
			await expect(cp.hub.openChannel(HOST_ID, 'pty', { sandbox_id: other, session_id: session, create: false })).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
			await expect(cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: other, session_id: session })).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
			expect((await cp.hub.call(HOST_ID, 'pty.list', { sandbox_id: other })).sessions).toEqual([]);
			await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session });

			// Destroying the sandbox ends its sessions.
			const doomed = sid('pty');
			await cp.hub.call(HOST_ID, 'pty.create', { sandbox_id: other, session_id: doomed, cols: 80, rows: 24 });
			const v = await cp.hub.openChannel(HOST_ID, 'pty', { sandbox_id: other, session_id: doomed, create: false });
			v.resume();
			const ended = new Promise<void>((r) => v.on('end', () => (v.destroy(), r())));
			await cp.hub.call(HOST_ID, 'sandbox.destroy', { id: other });
			await ended;
			const ev = await waitFor(() => cp.events.find((e) => e.name === 'pty.exited' && (e.data as { session_id: string }).session_id === doomed), 5000, 'event');
			expect((ev.data as { reason: string }).reason).toBe('sandbox_gone');
		} finally {
			await cp.hub.call(HOST_ID, 'sandbox.destroy', { id: other }).catch(() => undefined);
		}
	});

	test('detached sessions end after the idle timeout', async () => {
		const session = sid('pty');
		await create(session);
		const v = await attach({ session_id: session });
		await run(v, 'true');
		v.ch.destroy();
		const t0 = Date.now();
		const ev = await waitFor(
			() => cp.events.find((e) => e.name === 'pty.exited' && (e.data as { session_id: string }).session_id === session),
			IDLE_MS + 8000,
			'idle end'
		);
		expect((ev.data as { reason: string }).reason).toBe('idle');
		expect(Date.now() - t0).toBeGreaterThanOrEqual(IDLE_MS - 500);
	});

	test('flow control: a yes flood into a stalled viewer does not balloon memory', async () => {
		const session = sid('pty');
		await create(session);
		const v = await attach({ session_id: session });
		await run(v, 'true');
		v.ch.pause(); // the viewer stops reading
		v.ch.removeAllListeners('data');
		global.gc?.();
		const before = process.memoryUsage();
		v.ch.write('yes flood-flood-flood-flood\r');
		await new Promise((r) => setTimeout(r, 3000));
		const after = process.memoryUsage();
		const grew = (after.rss - before.rss) / 1024 / 1024;
		const buffers = (after.arrayBuffers - before.arrayBuffers) / 1024 / 1024;
		console.log(`[pty] rss +${grew.toFixed(1)} MiB, arrayBuffers +${buffers.toFixed(1)} MiB after 3 s of yes into a stalled viewer`);
		expect(buffers).toBeLessThan(32);
		expect(grew).toBeLessThan(96);
		// The viewer reads again, stops the flood, and the shell answers.
		const dec = new PtyFrameDecoder();
		let text = '';
		let received = 0;
		v.ch.on('data', (c: Buffer) => {
			received += c.length;
			for (const m of dec.push(c)) if (m.kind === 'data') text = (text + m.data.toString('utf8')).slice(-4096);
		});
		v.ch.resume();
		v.ch.write('\x03');
		await new Promise((r) => setTimeout(r, 300));
		v.ch.write('echo after-$((40+2))\r');
		await waitFor(() => text.includes('after-42'), 15_000, 'shell answers after the flood');
		expect(received).toBeGreaterThan(0);
		v.ch.destroy();
		await cp.hub.call(HOST_ID, 'pty.kill', { sandbox_id: sandboxId, session_id: session });
	});
});
