// `npm start`: install what is missing, build, migrate (at boot) and serve with a local host agent.
import { DEBIAN_PACKAGES, ensureBuilt, ensureDebianPackages, ensureNpmPackages, root } from './lib.js';
import { spawn } from 'node:child_process';

ensureNpmPackages();
const hostReady = ensureDebianPackages(DEBIAN_PACKAGES);
ensureBuilt();

const env = { ...process.env };
env.HANGAR_LOCAL_AGENT ??= hostReady && process.getuid?.() === 0 ? '1' : '0';
if (env.HANGAR_LOCAL_AGENT !== '1') {
	console.warn('[hangar] the local host agent needs root and bubblewrap; starting without it (sandboxes will wait for a host)');
}
const child = spawn(process.execPath, ['server.js'], { cwd: root, env, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
