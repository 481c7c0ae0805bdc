/**
 * Template cache: content-addressed root filesystems under the template dir.
 *
 *   <dir>/<sha256>/rootfs/        the read-only lower layer of every sandbox of that template
 *   <dir>/<sha256>/spec.json      the spec it was built from
 *   <dir>/<sha256>/status.json    {status:'ready', built_at, build_ms}
 *   <dir>/logs/<sha256>.log       build log (kept for failed builds too)
 *   <dir>/.build-<sha256>-*       in-progress builds (removed at start-up)
 *
 * Builds run once per hash (concurrent ensure() calls share one build) and finish with an
 * atomic rename, so a half-built template is never used. 'host' templates need no build: a
 * generated skeleton (/etc, mount points, merged-/usr symlinks) is created on first use and the
 * host's /usr is bind-mounted read-only over it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
	TemplateEnsureResult,
	TemplateInfo,
	TemplateProgressEvent,
	TemplateSpec,
	TemplateStatus
} from '../../src/lib/protocol/index';
import { fault } from '../errors';
import { log } from '../log';
import { BUILTIN_TEMPLATES, templateHash } from './specs';

export interface TemplateRoot {
	id: string;
	hash: string;
	spec: TemplateSpec;
	/** Lower layer directory. */
	rootfs: string;
	/** Bind the host's /usr read-only over the root ('host' base). */
	hostUsr: boolean;
}

export interface TemplateEvents {
	progress(e: TemplateProgressEvent): void;
	ready(id: string, hash: string): void;
	failed(id: string, hash: string, error: string): void;
}

const SANDBOX_UID = 1000;

export const ETC_FILES = {
	passwd: `root:x:0:0:root:/root:/bin/bash\nuser:x:${SANDBOX_UID}:${SANDBOX_UID}:user:/home/user:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
	group: `root:x:0:\nusers:x:100:user\nuser:x:${SANDBOX_UID}:\nnogroup:x:65534:\n`,
	hosts: '127.0.0.1\tlocalhost\n127.0.1.1\tsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n',
	hostname: 'sandbox\n',
	'resolv.conf': 'nameserver 10.0.2.3\n',
	'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
	profile:
		'export PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin\nif [ -d /etc/profile.d ]; then for i in /etc/profile.d/*.sh; do [ -r "$i" ] && . "$i"; done; unset i; fi\n',
	'bash.bashrc': "PS1='\\u@\\h:\\w\\$ '\n"
};

/**
 * CA certificates the host's administrator added (Debian: /usr/local/share/ca-certificates, e.g. a
 * corporate TLS proxy's). Built templates get them too, so sandboxes reach what the host reaches.
 */
export const HOST_CA_DIR = process.env.HANGAR_HOST_CA_DIR ?? '/usr/local/share/ca-certificates';

function hostCaFiles(dir = HOST_CA_DIR): { rel: string; abs: string }[] {
	const out: { rel: string; abs: string }[] = [];
	const walk = (d: string, rel: string) => {
		let entries: import('node:fs').Dirent[];
		try {
			entries = readdirSync(d, { withFileTypes: true });
		} catch {
			return;
		}
		for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
			const r = rel ? `${rel}/${e.name}` : e.name;
			if (e.isDirectory()) walk(path.join(d, e.name), r);
			else if (e.isFile() && e.name.endsWith('.crt')) out.push({ rel: r, abs: path.join(d, e.name) });
		}
	};
	walk(dir, '');
	return out;
}

/** sha256 over the host's local CA files ('' when there are none). */
export function hostTrustDigest(): string {
	const files = hostCaFiles();
	if (!files.length) return '';
	const h = createHash('sha256');
	for (const f of files) h.update(f.rel).update('\0').update(readFileSync(f.abs)).update('\0');
	return h.digest('hex');
}

export class TemplateStore {
	private specs = new Map<string, TemplateSpec>();
	private builds = new Map<string, Promise<void>>();
	private failures = new Map<string, string>();
	/** Read once per agent start (a changed trust store takes effect on restart). */
	private readonly hostTrust = hostTrustDigest();

	constructor(
		readonly dir: string,
		private readonly events: TemplateEvents,
		specs: TemplateSpec[] = BUILTIN_TEMPLATES
	) {
		for (const s of specs) this.specs.set(s.id, s);
	}

	async init(): Promise<void> {
		await mkdir(path.join(this.dir, 'logs'), { recursive: true });
		await chmod(this.dir, 0o755).catch(() => undefined);
		// Remove interrupted builds of a previous run.
		for (const e of await readdir(this.dir)) {
			if (e.startsWith('.build-')) await rm(path.join(this.dir, e), { recursive: true, force: true });
		}
	}

	spec(id: string): TemplateSpec {
		const s = this.specs.get(id);
		if (!s) throw fault('TEMPLATE_NOT_FOUND', `unknown template ${id}`);
		return s;
	}

	hash(id: string): string {
		return templateHash(this.spec(id), this.hostTrust);
	}

	private final(hash: string): string {
		return path.join(this.dir, hash);
	}

	status(id: string): TemplateStatus {
		const hash = this.hash(id);
		if (existsSync(path.join(this.final(hash), 'status.json'))) return 'ready';
		if (this.builds.has(hash)) return 'building';
		if (this.failures.has(hash)) return 'failed';
		return 'absent';
	}

	list(): TemplateInfo[] {
		return [...this.specs.values()].map((spec) => {
			const hash = templateHash(spec, this.hostTrust);
			const status = this.status(spec.id);
			let built_at: string | undefined;
			if (status === 'ready') {
				try {
					built_at = JSON.parse(readFileSync(path.join(this.final(hash), 'status.json'), 'utf8')).built_at;
				} catch {
					/* ignore */
				}
			}
			return { id: spec.id, name: spec.name, status, hash, error: this.failures.get(hash), built_at, spec };
		});
	}

	/** The root of a ready template; otherwise TEMPLATE_NOT_READY (and the build is started). */
	root(id: string): TemplateRoot {
		const spec = this.spec(id);
		const hash = templateHash(spec, this.hostTrust);
		const dir = this.final(hash);
		if (!existsSync(path.join(dir, 'status.json'))) {
			void this.ensure(id).catch(() => undefined);
			const st = this.status(id);
			throw fault(
				'TEMPLATE_NOT_READY',
				st === 'failed'
					? `template ${id} failed to build: ${this.failures.get(hash)}`
					: `template ${id} is being built; retry when template.ready arrives`
			);
		}
		return { id, hash, spec, rootfs: path.join(dir, 'rootfs'), hostUsr: spec.base === 'host' };
	}

	/** Build if needed; concurrent callers share one build. */
	ensure(id: string): Promise<void> {
		const spec = this.spec(id);
		const hash = templateHash(spec, this.hostTrust);
		if (existsSync(path.join(this.final(hash), 'status.json'))) return Promise.resolve();
		let p = this.builds.get(hash);
		if (!p) {
			this.failures.delete(hash);
			p = this.build(spec, hash).then(
				() => {
					this.builds.delete(hash);
					this.events.ready(id, hash);
				},
				(e: Error) => {
					this.builds.delete(hash);
					this.failures.set(hash, e.message);
					this.events.failed(id, hash, e.message);
					throw e;
				}
			);
			this.builds.set(hash, p);
		}
		return p;
	}

	async ensureResult(id: string, wait: boolean): Promise<TemplateEnsureResult> {
		const hash = this.hash(id);
		const p = this.ensure(id);
		if (wait) {
			try {
				await p;
			} catch (e) {
				throw fault('TEMPLATE_BUILD_FAILED', (e as Error).message);
			}
		} else p.catch(() => undefined);
		return { id, hash, status: this.status(id) };
	}

	// ------------------------------------------------------------------ building

	private async build(spec: TemplateSpec, hash: string): Promise<void> {
		const started = Date.now();
		const tmp = await mkdtemp(path.join(this.dir, `.build-${hash.slice(0, 16)}-`));
		const rootfs = path.join(tmp, 'rootfs');
		const logFile = path.join(this.dir, 'logs', `${hash}.log`);
		const out = createWriteStream(logFile, { flags: 'w' });
		const progress = (phase: TemplateProgressEvent['phase'], percent: number, line?: string) => {
			if (line !== undefined) out.write(line + '\n');
			this.events.progress({ id: spec.id, hash, phase, percent: Math.min(100, Math.round(percent)), line });
		};
		try {
			if (spec.base === 'host') {
				await makeHostSkeleton(rootfs);
			} else {
				log.info('building template', { id: spec.id, hash });
				await this.buildDebootstrap(spec, rootfs, progress);
			}
			await finalizeRootfs(rootfs, spec.base === 'host');
			await writeFile(path.join(tmp, 'spec.json'), JSON.stringify(spec, null, 2));
			await writeFile(
				path.join(tmp, 'status.json'),
				JSON.stringify({ status: 'ready', built_at: new Date().toISOString(), build_ms: Date.now() - started })
			);
			await chmod(tmp, 0o755);
			progress('finalize', 100, `template ${spec.id} ready in ${Date.now() - started} ms`);
			await rename(tmp, this.final(hash));
		} catch (e) {
			out.write(`FAILED: ${(e as Error).message}\n`);
			await rm(tmp, { recursive: true, force: true });
			throw e;
		} finally {
			out.end();
		}
	}

	private async buildDebootstrap(
		spec: TemplateSpec,
		rootfs: string,
		progress: (phase: TemplateProgressEvent['phase'], percent: number, line?: string) => void
	): Promise<void> {
		if (spec.base === 'host') return;
		const { suite, variant = 'minbase' } = spec.base.debootstrap;
		const mirror = process.env.HANGAR_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
		// debootstrap mounts /proc etc. inside the target: run it in a private mount namespace so
		// nothing can be left mounted on the host if it dies.
		let pct = 2;
		progress('debootstrap', pct, `debootstrap --variant=${variant} ${suite} ${mirror}`);
		await runLogged(
			'unshare',
			['--mount', '--propagation', 'private', '--', 'debootstrap', `--variant=${variant}`, suite, rootfs, mirror],
			{},
			(line) => {
				if (/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring|Installing)/.test(line)) pct = Math.min(45, pct + 0.25);
				progress('debootstrap', pct, line);
			}
		);
		await copyFile('/etc/resolv.conf', path.join(rootfs, 'etc/resolv.conf')).catch(() => undefined);
		if (spec.packages.length) {
			pct = 50;
			progress('packages', pct, `apt-get install ${spec.packages.join(' ')}`);
			await chrootRun(
				rootfs,
				`apt-get update && apt-get install -y --no-install-recommends ${spec.packages.map(shq).join(' ')}`,
				(line) => {
					if (/^(Get:|Unpacking|Setting up)/.test(line)) pct = Math.min(88, pct + 0.1);
					progress('packages', pct, line);
				}
			);
		}
		for (const [i, cmd] of spec.commands.entries()) {
			progress('commands', 88 + (i / Math.max(1, spec.commands.length)) * 8, `$ ${cmd}`);
			await chrootRun(rootfs, cmd, (line) => progress('commands', 90, line));
		}
		const cas = hostCaFiles();
		if (cas.length) {
			const dest = path.join(rootfs, 'usr/local/share/ca-certificates/hangar-host');
			await mkdir(dest, { recursive: true });
			for (const f of cas) await copyFile(f.abs, path.join(dest, f.rel.replace(/\//g, '__')));
			progress('finalize', 96, `trusting ${cas.length} CA certificate(s) added on the host`);
			await chrootRun(rootfs, 'command -v update-ca-certificates >/dev/null && update-ca-certificates || true', (line) => progress('finalize', 96, line));
		}
		progress('finalize', 97, 'cleaning up');
		await chrootRun(
			rootfs,
			`apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; id -u user >/dev/null 2>&1 || useradd -u ${SANDBOX_UID} -U -m -d /home/user -s /bin/bash user`,
			(line) => progress('finalize', 98, line)
		);
	}
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function runLogged(cmd: string, args: string[], env: Record<string, string>, onLine: (l: string) => void): Promise<void> {
	return new Promise((resolve, reject) => {
		const p = spawn(cmd, args, {
			env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...env },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		const tail: string[] = [];
		const feed = (buf: { s: string }, chunk: Buffer) => {
			buf.s += chunk.toString('utf8');
			let i: number;
			while ((i = buf.s.indexOf('\n')) >= 0) {
				const line = buf.s.slice(0, i).replace(/\r/g, '');
				buf.s = buf.s.slice(i + 1);
				tail.push(line);
				if (tail.length > 20) tail.shift();
				onLine(line);
			}
		};
		const o = { s: '' };
		const e = { s: '' };
		p.stdout.on('data', (c: Buffer) => feed(o, c));
		p.stderr.on('data', (c: Buffer) => feed(e, c));
		p.on('error', reject);
		p.on('close', (code, sig) => {
			if (code === 0) resolve();
			else reject(new Error(`${cmd} ${args.slice(-3).join(' ')} failed (${code ?? sig}): ${tail.slice(-5).join(' | ')}`));
		});
	});
}

/** Run a shell command as root chrooted into rootfs, with /proc and /dev, in a private mount ns. */
function chrootRun(rootfs: string, command: string, onLine: (l: string) => void): Promise<void> {
	const script =
		'mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && mount -t tmpfs tmpfs "$R/tmp" && exec chroot "$R" /bin/sh -c "$CMD"';
	return runLogged('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script], {
		R: rootfs,
		CMD: command,
		DEBIAN_FRONTEND: 'noninteractive',
		HOME: '/root'
	}, onLine);
}

/** The skeleton root of a 'host' template: generated /etc, mount points, /usr symlinks. */
async function makeHostSkeleton(rootfs: string): Promise<void> {
	for (const d of ['usr', 'dev', 'proc', 'sys', 'tmp', 'run', 'var/tmp', 'etc', 'mnt', 'opt', 'srv']) {
		await mkdir(path.join(rootfs, d), { recursive: true });
	}
	for (const l of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
		// merged /usr (Debian 12): /bin -> usr/bin etc.
		if (existsSync(`/usr/${l}`)) await symlink(`usr/${l}`, path.join(rootfs, l));
	}
	const etc = path.join(rootfs, 'etc');
	for (const f of ['ld.so.cache', 'ld.so.conf']) {
		if (existsSync(`/etc/${f}`)) await copyFile(`/etc/${f}`, path.join(etc, f));
	}
	// Public, identity-free parts of /etc that binaries in /usr depend on.
	// fonts, X11 (app-defaults, xkb), xdg and ImageMagick-6: what desktop programs read (desktop-host).
	for (const d of ['ld.so.conf.d', 'alternatives', 'ssl/certs', 'profile.d', 'fonts', 'X11', 'xdg', 'ImageMagick-6']) {
		if (existsSync(`/etc/${d}`)) await cp(`/etc/${d}`, path.join(etc, d), { recursive: true, verbatimSymlinks: true, dereference: false });
	}
	await symlink('../usr/lib/os-release', path.join(etc, 'os-release')).catch(() => undefined);
	await symlink('/usr/share/zoneinfo/UTC', path.join(etc, 'localtime')).catch(() => undefined);
}

/** Common finishing for every template: our /etc basics, sandbox dirs. */
async function finalizeRootfs(rootfs: string, host: boolean): Promise<void> {
	const etc = path.join(rootfs, 'etc');
	await mkdir(etc, { recursive: true });
	for (const [name, content] of Object.entries(ETC_FILES)) {
		// Built distros keep their own passwd/group (with our user added), profile and bashrc.
		if (!host && ['passwd', 'group', 'profile', 'bash.bashrc', 'nsswitch.conf'].includes(name)) continue;
		await rm(path.join(etc, name), { force: true });
		await writeFile(path.join(etc, name), content);
	}
	for (const d of ['workspace', 'home/user', 'tmp', 'root', 'var/tmp', 'proc', 'dev']) {
		await mkdir(path.join(rootfs, d), { recursive: true });
	}
	await chmod(path.join(rootfs, 'tmp'), 0o1777);
	await chmod(path.join(rootfs, 'var/tmp'), 0o1777);
	await chmod(path.join(rootfs, 'root'), 0o700);
	await chmod(rootfs, 0o755);
}
