// Starts a real, built Hangar server for black-box tests: its own port, data dir and database.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

export interface TestServer {
	baseUrl: string;
	port: number;
	dataDir: string;
	databaseUrl: string | null;
	proc: ChildProcess;
	logs: () => string;
	stop(): Promise<void>;
}

const root = path.resolve(import.meta.dirname, '../..');

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.listen(0, '127.0.0.1', () => {
			const port = (s.address() as net.AddressInfo).port;
			s.close(() => resolve(port));
		});
		s.on('error', reject);
	});
}

/** A fresh database on the Postgres server of DATABASE_URL, so runs never see each other's rows. */
async function freshPostgres(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
	const name = `hangar_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
	const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
	await admin.unsafe(`create database ${name}`);
	await admin.end();
	const u = new URL(adminUrl);
	u.pathname = `/${name}`;
	return {
		url: u.toString(),
		drop: async () => {
			const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
			await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
			await a.end();
		}
	};
}

export async function startServer(opts: {
	db: 'pglite' | 'postgres';
	env?: Record<string, string>;
	waitForHost?: boolean;
	/** Join an existing database (a second replica) instead of creating one. */
	databaseUrl?: string;
	/** Reuse a data directory (a restart after a crash: same PGlite files, same agent state). */
	dataDir?: string;
	/** Listen on this port (a restart where agents reconnect to the same address). */
	port?: number;
}): Promise<TestServer> {
	const port = opts.port ?? (await freePort());
	const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-it-'));
	let databaseUrl: string | null = null;
	let drop: (() => Promise<void>) | null = null;
	if (opts.databaseUrl) {
		databaseUrl = opts.databaseUrl;
	} else if (opts.db === 'postgres') {
		if (!process.env.DATABASE_URL) throw new Error('HANGAR_TEST_DB=postgres needs DATABASE_URL');
		const fresh = await freshPostgres(process.env.DATABASE_URL);
		databaseUrl = fresh.url;
		drop = fresh.drop;
	}
	let output = '';
	const proc = spawn(process.execPath, ['server.js'], {
		cwd: root,
		env: {
			...process.env,
			PORT: String(port),
			HOST: '127.0.0.1',
			HANGAR_DATA_DIR: dataDir,
			DATABASE_URL: databaseUrl ?? '',
			HANGAR_LOCAL_AGENT: '1',
			// Replicas of one deployment share the instance key.
			HANGAR_SECRET_KEY: 'hangar-integration-tests-shared-instance-key-0001',
			HANGAR_DEFAULT_TEMPLATE: 'host-minimal',
			// Every test signs up its own organization from one address.
			HANGAR_SIGNUP_RATE_LIMIT: '100000',
			HANGAR_AGENT_DATA: path.join(dataDir, 'agent'),
			HANGAR_TEMPLATE_DIR: process.env.HANGAR_TEST_TEMPLATE_DIR ?? path.join(dataDir, 'templates'),
			// Deployments: archived artifacts are collected at once (the 410 test), checks run often.
			HANGAR_DEPLOY_ARTIFACT_RETENTION_DAYS: '0',
			HANGAR_DEPLOY_GC_INTERVAL_SEC: '1',
			HANGAR_DEPLOY_RECONCILE_MS: '1000',
			...(opts.env ?? {})
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	proc.stdout!.on('data', (d) => (output += d));
	proc.stderr!.on('data', (d) => (output += d));
	const baseUrl = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 90_000;
	for (;;) {
		if (proc.exitCode !== null) throw new Error(`server exited early (${proc.exitCode}):\n${output}`);
		try {
			const r = await fetch(`${baseUrl}/api/v1/health`);
			if (r.ok) {
				const h = (await r.json()) as { hosts_online: number };
				if (!opts.waitForHost || h.hosts_online > 0) break;
			}
		} catch {
			// not up yet
		}
		if (Date.now() > deadline) {
			proc.kill('SIGKILL');
			throw new Error(`server did not become ready in 90 s:\n${output}`);
		}
		await new Promise((r) => setTimeout(r, 150));
	}
	return {
		baseUrl,
		port,
		dataDir,
		databaseUrl,
		proc,
		logs: () => output,
		async stop() {
			if (proc.exitCode === null && proc.signalCode === null) {
				proc.kill('SIGTERM');
				await new Promise<void>((resolve) => {
					const t = setTimeout(() => {
						proc.kill('SIGKILL');
						resolve();
					}, 10_000);
					proc.once('exit', () => {
						clearTimeout(t);
						resolve();
					});
				});
			}
			await drop?.();
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	};
}
