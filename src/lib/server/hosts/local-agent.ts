import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { env } from '../env';
import { onStop } from '../startup';
import { provisionLocalHost } from './service';

let child: ChildProcess | null = null;
let stopping = false;
let restarts = 0;

/** `npm start` runs one host agent beside the control plane, with a key provisioned on each boot. */
export async function startLocalAgent(port: number): Promise<void> {
	if (env.HANGAR_LOCAL_AGENT !== '1' || child) return;
	const entry = path.resolve('build/agent/agent.mjs');
	if (!fs.existsSync(entry)) {
		console.warn(`[hangar] local agent not started: ${entry} is missing (run npm run build)`);
		return;
	}
	const { key } = await provisionLocalHost();
	const launch = () => {
		const proc = spawn(process.execPath, [entry], {
			env: {
				...process.env,
				HANGAR_URL: `http://127.0.0.1:${port}`,
				HANGAR_HOST_KEY: key,
				HANGAR_HOST_NAME: process.env.HANGAR_HOST_NAME ?? 'local',
				HANGAR_REGION: process.env.HANGAR_REGION ?? env.HANGAR_DEFAULT_REGION,
				HANGAR_AGENT_DATA: process.env.HANGAR_AGENT_DATA ?? path.join(env.dataDir, 'agent')
			},
			stdio: ['ignore', 'inherit', 'inherit']
		});
		child = proc;
		const started = Date.now();
		proc.on('exit', (code, signal) => {
			child = null;
			if (stopping) return;
			restarts = Date.now() - started > 60_000 ? 0 : restarts + 1;
			const delay = Math.min(30_000, 500 * 2 ** restarts);
			console.error(`[hangar] local agent exited (${signal ?? code}); restarting in ${delay} ms`);
			setTimeout(() => !stopping && launch(), delay).unref();
		});
	};
	launch();
}

onStop(
	() =>
		new Promise<void>((resolve) => {
			stopping = true;
			const c = child;
			if (!c || c.exitCode !== null) return resolve();
			const t = setTimeout(() => {
				c.kill('SIGKILL');
				resolve();
			}, 5000);
			c.once('exit', () => {
				clearTimeout(t);
				resolve();
			});
			c.kill('SIGTERM');
		})
);

(globalThis as Record<symbol, unknown>)[Symbol.for('hangar.server.listening')] = startLocalAgent;
