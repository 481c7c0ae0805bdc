// Shared by `npm start`, `npm test` and `npm run bench`: install what is missing, then build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Debian packages Hangar's host agent and tests use. */
export const DEBIAN_PACKAGES = {
	bwrap: 'bubblewrap',
	slirp4netns: 'slirp4netns',
	nft: 'nftables',
	ip: 'iproute2',
	nsenter: 'util-linux',
	setpriv: 'util-linux',
	debootstrap: 'debootstrap',
	// The agent compiles its small in-sandbox helper (agent/envd/envd.c) on first start.
	gcc: 'gcc',
	'/usr/include/stdio.h': 'libc6-dev',
	// Desktops ("computers"): the desktop-host template runs these from the host's /usr.
	Xvnc: 'tigervnc-standalone-server',
	xfwm4: 'xfwm4',
	xterm: 'xterm',
	xdotool: 'xdotool',
	import: 'imagemagick',
	xdpyinfo: 'x11-utils',
	xclip: 'xclip',
	'/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf': 'fonts-dejavu-core',
	'dbus-launch': 'dbus-x11'
};
export const E2E_PACKAGES = { chromium: 'chromium' };

export function run(cmd, args, opts = {}) {
	const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
	if (r.error) throw r.error;
	return r.status ?? 1;
}

/** A command on PATH, or (for keys starting with /) a file that must exist. */
function which(bin) {
	if (bin.startsWith('/')) return fs.existsSync(bin);
	return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Installs missing Debian packages when root; otherwise prints the exact command and returns false. */
export function ensureDebianPackages(map) {
	const missing = [...new Set(Object.entries(map).filter(([bin]) => !which(bin)).map(([, pkg]) => pkg))];
	if (!missing.length) return true;
	const cmd = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
	if (process.getuid?.() !== 0) {
		console.warn(`[hangar] missing Debian packages: ${missing.join(', ')}\n[hangar] run as root:  apt-get update && ${cmd}`);
		return false;
	}
	if (!which('apt-get')) {
		console.warn(`[hangar] missing packages ${missing.join(', ')} and no apt-get to install them`);
		return false;
	}
	console.log(`[hangar] installing Debian packages: ${missing.join(', ')}`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	if (run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env }) !== 0) {
		run('apt-get', ['update'], { env });
		if (run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env }) !== 0) {
			console.warn(`[hangar] could not install ${missing.join(', ')}`);
			return false;
		}
	}
	return true;
}

/** `npm install` when node_modules is missing or older than package-lock.json. */
export function ensureNpmPackages() {
	const stamp = path.join(root, 'node_modules/.package-lock.json');
	const lock = path.join(root, 'package-lock.json');
	const fresh = fs.existsSync(stamp) && fs.existsSync(lock) && fs.statSync(stamp).mtimeMs >= fs.statSync(lock).mtimeMs;
	if (fresh && fs.existsSync(path.join(root, 'node_modules/node-pty/build/Release/pty.node'))) return;
	console.log('[hangar] installing npm packages (npm install)');
	// `npm ci` is avoided on purpose: some optional platform packages of the toolchain are not
	// published for every platform and make `npm ci` fail where `npm install` skips them.
	if (run('npm', ['install', '--no-audit', '--no-fund']) !== 0) throw new Error('npm install failed');
	if (!fs.existsSync(path.join(root, 'node_modules/node-pty/build/Release/pty.node'))) {
		console.log('[hangar] building node-pty');
		run('npm', ['rebuild', 'node-pty', '--foreground-scripts']);
	}
}

function sourceHash() {
	const h = crypto.createHash('sha256');
	const walk = (dir) => {
		for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
			const p = path.join(dir, e.name);
			if (e.isDirectory()) walk(p);
			else {
				h.update(p);
				h.update(fs.readFileSync(p));
			}
		}
	};
	for (const d of ['src', 'agent', 'static', 'drizzle']) if (fs.existsSync(path.join(root, d))) walk(path.join(root, d));
	for (const f of ['package-lock.json', 'svelte.config.js', 'vite.config.ts']) h.update(fs.readFileSync(path.join(root, f)));
	return h.digest('hex');
}

/** Builds the app and the agent unless the build matches the sources. */
export function ensureBuilt() {
	const stampFile = path.join(root, 'build/.hangar-build');
	const hash = sourceHash();
	if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === hash && fs.existsSync(path.join(root, 'build/handler.js'))) return;
	console.log('[hangar] building');
	if (run('npm', ['run', 'build']) !== 0) throw new Error('build failed');
	fs.writeFileSync(stampFile, hash);
}
