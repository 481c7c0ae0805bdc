/**
 * bwrap driver: one long-lived bubblewrap process per sandbox.
 *
 *   node ─ hangar-envd launch (joins cgroups, private mount ns, mounts the overlay, drops to the
 *          sandbox's host uid) ─exec→ bwrap (outer monitor, host pid ns) ─ hangar-envd init (pid 1)
 *
 * - Root: kernel overlayfs (lower = template rootfs, upper/work = per-sandbox dirs) mounted in a
 *   private mount namespace of the launcher, so it exists only inside the sandbox and vanishes with
 *   it: no host mounts to leak. bwrap binds it read-only at /, with /workspace, /home/user and
 *   /tmp writable (they live in the upper dir).
 * - Namespaces: --unshare-all (user, pid, net, ipc, uts, mount, cgroup-try), --die-with-parent,
 *   --new-session, uid/gid 1000 inside, mapped to one unprivileged host uid per sandbox.
 * - pid 1 is hangar-envd's init: it only reaps. Being a pid-ns init it ignores signals from inside
 *   the sandbox, so `kill -9 -1` inside cannot take the sandbox down.
 * - Destroy: SIGKILL the outer bwrap (its pid-1 child gets PDEATHSIG → the pid ns dies), then the
 *   cgroup backstop kills anything left (exec helpers, slirp4netns).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const SANDBOX_UID = 1000;
const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BootOptions {
	helper: string;
	/** Per-sandbox directory (upper/, work/, merged/ inside). */
	dir: string;
	/** Template lower layer. */
	rootfs: string;
	hostUsr: boolean;
	hostUid: number;
	cgroupProcs: string[];
	hostname?: string;
}

export interface BwrapInstance {
	/** Host pid of the outer bwrap (kill this to destroy). */
	outerPid: number;
	/** Host pid of the sandbox's pid 1 (namespace/root target for entering). */
	initPid: number;
	child: ChildProcess;
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	hasExited(): boolean;
}

export async function prepareSandboxDir(dir: string, hostUid: number): Promise<void> {
	const upper = path.join(dir, 'upper');
	await mkdir(dir, { recursive: true, mode: 0o711 });
	await chmod(dir, 0o711);
	for (const d of ['upper', 'work', 'merged']) await mkdir(path.join(dir, d), { recursive: true });
	await chmod(path.join(dir, 'work'), 0o700);
	await chmod(upper, 0o755);
	await chmod(path.join(dir, 'merged'), 0o755);
	for (const d of ['workspace', 'home/user']) {
		await mkdir(path.join(upper, d), { recursive: true });
		await chown(path.join(upper, d), hostUid, hostUid);
	}
	await chmod(path.join(upper, 'home'), 0o755);
	await chmod(path.join(upper, 'home/user'), 0o750);
	await mkdir(path.join(upper, 'tmp'), { recursive: true });
	await chmod(path.join(upper, 'tmp'), 0o1777);
}

export async function bootBwrap(o: BootOptions): Promise<BwrapInstance> {
	const upper = path.join(o.dir, 'upper');
	const work = path.join(o.dir, 'work');
	const merged = path.join(o.dir, 'merged');
	for (const p of [o.rootfs, upper, work, merged]) {
		if (/[,:\s]/.test(p)) throw new Error(`path not usable for overlayfs: ${p}`);
	}
	const bw = [
		'bwrap',
		'--unshare-all',
		'--die-with-parent',
		'--new-session',
		'--hostname',
		o.hostname ?? 'sandbox',
		'--uid',
		String(SANDBOX_UID),
		'--gid',
		String(SANDBOX_UID),
		'--ro-bind',
		merged,
		'/',
		...(o.hostUsr ? ['--ro-bind', '/usr', '/usr'] : []),
		'--bind',
		`${merged}/workspace`,
		'/workspace',
		'--bind',
		`${merged}/home/user`,
		'/home/user',
		'--bind',
		`${merged}/tmp`,
		'/tmp',
		'--dev',
		'/dev',
		'--tmpfs',
		'/dev/shm',
		'--proc',
		'/proc',
		'--ro-bind',
		o.helper,
		'/dev/.hangar-init',
		'--chdir',
		'/',
		'--clearenv',
		'--setenv',
		'PATH',
		'/usr/bin:/bin',
		'--info-fd',
		'3',
		'--as-pid-1',
		'/dev/.hangar-init',
		'init'
	];
	const args = [
		'launch',
		...o.cgroupProcs.flatMap((f) => ['--cgroup', f]),
		'--overlay',
		`lowerdir=${o.rootfs},upperdir=${upper},workdir=${work}`,
		'--merged',
		merged,
		'--uid',
		String(o.hostUid),
		'--gid',
		String(o.hostUid),
		'--',
		...bw
	];
	const child = spawn(o.helper, args, {
		env: { PATH: SYS_PATH },
		stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
		detached: false
	});
	for (const st of child.stdio) (st as Readable | null)?.on('error', () => undefined);
	let done = false;
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
		child.once('exit', (code, signal) => {
			done = true;
			resolve({ code, signal });
		});
		child.once('error', () => {
			done = true;
			resolve({ code: null, signal: null });
		});
	});
	let stderr = '';
	(child.stderr as Readable).on('data', (c: Buffer) => {
		if (stderr.length < 4096) stderr += c.toString('utf8');
	});
	const info = child.stdio[3] as Readable;
	const ready = child.stdio[4] as Readable;
	try {
		const initPid = await new Promise<number>((resolve, reject) => {
			let buf = '';
			let pid = 0;
			let isReady = false;
			const check = () => {
				if (pid && isReady) resolve(pid);
			};
			info.on('data', (c: Buffer) => {
				buf += c.toString('utf8');
				const m = /"child-pid"\s*:\s*(\d+)/.exec(buf);
				if (m && !pid) {
					pid = Number(m[1]);
					check();
				}
			});
			ready.on('data', () => {
				isReady = true;
				check();
			});
			void exited.then(({ code, signal }) =>
				reject(new Error(`sandbox failed to start (${code ?? signal}): ${stderr.trim() || 'no output'}`))
			);
			setTimeout(() => reject(new Error(`sandbox did not start within 20 s: ${stderr.trim()}`)), 20_000).unref();
		});
		info.destroy();
		ready.destroy();
		return { outerPid: child.pid!, initPid, child, exited, hasExited: () => done };
	} catch (e) {
		try {
			child.kill('SIGKILL');
		} catch {
			/* gone */
		}
		throw e;
	}
}

// ----------------------------------------------------------------------------- network

/**
 * Egress policy inside the sandbox's netns (applied before slirp4netns attaches): loopback is the
 * sandbox's own; DNS only to slirp's resolver; no host (10.0.2.2 / 127/8 via the gateway), private,
 * CGNAT, link-local, multicast/reserved ranges; no IPv6 beyond lo.
 */
export const NFT_RULES = `table inet hangar {
	chain output {
		type filter hook output priority 0; policy accept;
		oifname "lo" accept
		ip daddr 10.0.2.3 udp dport 53 accept
		ip daddr 10.0.2.3 tcp dport 53 accept
		meta l4proto tcp ip daddr { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/3 } reject with tcp reset
		ip daddr { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/3 } reject with icmp type admin-prohibited
		meta nfproto ipv6 reject
	}
}
`;

function runTo(cmd: string, args: string[], input?: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const p = spawn(cmd, args, { env: { PATH: SYS_PATH }, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
		let err = '';
		p.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
		p.on('error', reject);
		p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed (${code}): ${err.trim()}`))));
		if (input !== undefined) {
			(p.stdin as Writable).on('error', () => undefined); // EPIPE if it exits early: reported via its exit code
			(p.stdin as Writable).end(input);
		}
	});
}

export async function applyEgressRules(initPid: number): Promise<void> {
	await runTo('nsenter', [`--net=/proc/${initPid}/ns/net`, 'nft', '-f', '-'], NFT_RULES);
}

/** Attach slirp4netns (as the sandbox's host uid, in its cgroups). Resolves when tap0 is configured. */
export async function attachSlirp(o: {
	helper: string;
	initPid: number;
	hostUid: number;
	cgroupProcs: string[];
}): Promise<ChildProcess> {
	const child = spawn(
		o.helper,
		[
			'netns',
			'--pid',
			String(o.initPid),
			'--uid',
			String(o.hostUid),
			'--gid',
			String(o.hostUid),
			...o.cgroupProcs.flatMap((f) => ['--cgroup', f]),
			'--',
			'slirp4netns',
			'--configure',
			'--mtu=65520',
			'--disable-host-loopback',
			'--enable-seccomp',
			'--userns-path',
			'@USERNS@',
			'--netns-type=path',
			'@NETNS@',
			'tap0',
			'--ready-fd',
			'3',
			'--exit-fd',
			'4'
		],
		{ env: { PATH: SYS_PATH }, stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] }
	);
	for (const st of child.stdio) (st as Readable | null)?.on('error', () => undefined);
	let err = '';
	(child.stderr as Readable).on('data', (c: Buffer) => {
		if (err.length < 4096) err += c.toString('utf8');
	});
	await new Promise<void>((resolve, reject) => {
		(child.stdio[3] as Readable).once('data', () => resolve());
		child.once('exit', (code) => reject(new Error(`slirp4netns exited (${code}): ${err.trim()}`)));
		child.once('error', reject);
		setTimeout(() => reject(new Error(`slirp4netns not ready after 10 s: ${err.trim()}`)), 10_000).unref();
	}).catch((e) => {
		child.kill('SIGKILL');
		throw e;
	});
	(child.stdio[3] as Readable).destroy();
	(child.stderr as Readable).resume();
	return child;
}

export async function setHostname(helper: string, initPid: number, name: string): Promise<void> {
	await runTo(helper, ['hostname', '--pid', String(initPid), name]);
}
