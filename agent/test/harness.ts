/**
 * Test harness: a tiny control plane (real hub over a local HTTP server) and a real agent.
 */
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Hello, Usage } from '../../src/lib/protocol/index';
import { createHub, type Hub } from '../../src/lib/server/hosts/hub';
import { setLogLevel } from '../log';
import { startAgent, type Agent, type AgentOptions } from '../main';

if (!process.env.HANGAR_LOG) setLogLevel('error');

export const HOST_KEY = 'hk_test_key';
export const HOST_ID = 'host-1';

export interface TestControlPlane {
	url: string;
	port: number;
	hub: Hub;
	hellos: Hello[];
	heartbeats: Usage[];
	events: { name: string; data: unknown }[];
	disconnects: number;
	/** Sandbox ids the next welcome tells the agent to destroy. */
	destroyOnHello: string[];
	close(): Promise<void>;
}

export async function startControlPlane(port = 0): Promise<TestControlPlane> {
	const cp = {
		hellos: [] as Hello[],
		heartbeats: [] as Usage[],
		events: [] as { name: string; data: unknown }[],
		disconnects: 0,
		destroyOnHello: [] as string[]
	} as TestControlPlane;
	const hub = createHub({
		authenticate: async (token) => (token === HOST_KEY ? { hostId: HOST_ID } : null),
		onHello: async (_hostId, hello) => {
			cp.hellos.push(hello);
			const destroy = cp.destroyOnHello;
			cp.destroyOnHello = [];
			return { destroy };
		},
		onHeartbeat: (_h, usage) => void cp.heartbeats.push(usage),
		onEvent: (_h, name, data) => void cp.events.push({ name, data }),
		onDisconnect: () => void cp.disconnects++
	});
	const server = http.createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	server.on('upgrade', (req, socket, head) => {
		if (req.url?.startsWith('/ws/agent')) hub.handleUpgrade(req, socket, head);
		else socket.destroy();
	});
	await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
	const p = (server.address() as AddressInfo).port;
	cp.port = p;
	cp.url = `http://127.0.0.1:${p}`;
	cp.hub = hub;
	cp.close = async () => {
		await hub.close();
		server.closeAllConnections?.();
		await new Promise<void>((r) => server.close(() => r()));
	};
	return cp;
}

/**
 * A data dir for a test agent. Made traversable (0755) so the agent keeps its runtime files in it
 * and tests can look inside; a private dir makes the agent use /var/lib/hangar-agent/run instead
 * (covered by the integration suite, whose server data dirs are 0700).
 */
export function tempDir(prefix: string): string {
	const dir = mkdtempSync(path.join(os.tmpdir(), `hangar-${prefix}-`));
	chmodSync(dir, 0o755);
	return dir;
}

export async function startTestAgent(
	cp: TestControlPlane,
	opts: Partial<AgentOptions> & { dataDir: string }
): Promise<Agent> {
	const agent = await startAgent({
		url: cp.url,
		hostKey: HOST_KEY,
		poolSize: 0,
		maxBackoffMs: 300,
		templateDir: process.env.HANGAR_TEST_TEMPLATE_DIR || undefined,
		...opts
	});
	await waitFor(() => cp.hub.isConnected(HOST_ID), 15_000, 'agent to connect');
	return agent;
}

export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
	const end = Date.now() + timeoutMs;
	let delay = 5;
	for (;;) {
		const v = await fn();
		if (v) return v as NonNullable<T>;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, delay));
		delay = Math.min(100, delay * 2);
	}
}

export async function cleanupDir(dir: string): Promise<void> {
	await rm(dir, { recursive: true, force: true });
}

/** Mount points at or below dir in the host's mount table. */
export function mountsUnder(dir: string): string[] {
	return readFileSync('/proc/self/mountinfo', 'utf8')
		.split('\n')
		.map((l) => l.split(' ')[4])
		.filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')));
}

let seq = 0;
export function sid(prefix = 'sb'): string {
	return `${prefix}-${process.pid}-${++seq}`;
}

export const SIZE = { cpus: 1, memory_mb: 512, pids_max: 256 };
