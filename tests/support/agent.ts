// Starts the real, built host agent as a separate process (a second "machine").
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export interface TestAgent {
	proc: ChildProcess;
	dataDir: string;
	logs: () => string;
	kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startAgent(opts: { baseUrl: string; key: string; name: string; region?: string; labels?: Record<string, string>; poolSize?: number }): TestAgent {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-agent-'));
	let out = '';
	const proc = spawn(process.execPath, [path.join(root, 'build/agent/agent.mjs')], {
		env: {
			...process.env,
			HANGAR_URL: opts.baseUrl,
			HANGAR_HOST_KEY: opts.key,
			HANGAR_HOST_NAME: opts.name,
			HANGAR_REGION: opts.region ?? 'local',
			HANGAR_LABELS: Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
			HANGAR_AGENT_DATA: dataDir,
			HANGAR_POOL_SIZE: String(opts.poolSize ?? 1),
			HANGAR_TEMPLATE_DIR: process.env.HANGAR_TEST_TEMPLATE_DIR ?? path.join(dataDir, 'templates')
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	proc.stdout!.on('data', (d) => (out += d));
	proc.stderr!.on('data', (d) => (out += d));
	return {
		proc,
		dataDir,
		logs: () => out,
		async kill(signal = 'SIGTERM') {
			if (proc.exitCode !== null || proc.signalCode !== null) return;
			const exited = new Promise<void>((r) => proc.once('exit', () => r()));
			proc.kill(signal);
			const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
			await exited;
			clearTimeout(t);
		}
	};
}
