import http from 'node:http';
import { expect, inject } from 'vitest';

export const baseUrl = () => inject('baseUrl');
let counter = 0;

export interface Call {
	status: number;
	headers: Headers;
	body: any;
	text: string;
}

/** One HTTP call to the API under test; `token` is an msk_ key or hst_ token. */
export async function call(
	method: string,
	path: string,
	opts: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: BodyInit } = {}
): Promise<Call> {
	const headers: Record<string, string> = { ...(opts.headers ?? {}) };
	if (opts.token) headers.authorization = `Bearer ${opts.token}`;
	let body: BodyInit | undefined = opts.raw;
	if (opts.body !== undefined) {
		headers['content-type'] ??= 'application/json';
		body = JSON.stringify(opts.body);
	}
	const res = await fetch(`${baseUrl()}/api/v1${path}`, { method, headers, body });
	const text = await res.text();
	let parsed: any = null;
	try {
		parsed = text ? JSON.parse(text) : null;
	} catch {
		parsed = null;
	}
	return { status: res.status, headers: res.headers, body: parsed, text };
}

export interface Org {
	email: string;
	password: string;
	token: string;
	key: string;
	organizationId: string;
	userId: string;
}

/** Signs up a fresh user + organization and mints a full-scope API key. */
export async function newOrg(): Promise<Org> {
	const email = `user${Date.now().toString(36)}${++counter}${Math.random().toString(36).slice(2, 6)}@example.test`;
	const password = 'correct horse battery';
	const s = await call('POST', '/auth/signup', { body: { email, password, name: 'Test User', organization_name: 'Test Org' } });
	expect(s.status, s.text).toBe(201);
	const token = s.body.data.token as string;
	const k = await call('POST', '/api-keys', { token, body: { name: 'test key' } });
	expect(k.status, k.text).toBe(201);
	return { email, password, token, key: k.body.data.key, organizationId: s.body.data.organization.id, userId: s.body.data.user.id };
}

/** A key with only the given scopes. */
export async function keyWith(org: Org, scopes: string[], extra: Record<string, unknown> = {}): Promise<string> {
	const k = await call('POST', '/api-keys', { token: org.token, body: { name: `scoped ${scopes.join(',')}`, scopes, ...extra } });
	expect(k.status, k.text).toBe(201);
	return k.body.data.key;
}

/** Asserts the error envelope: status, code, request id in body and header. */
export function expectError(r: Call, status: number, code: string) {
	expect(r.status, r.text).toBe(status);
	expect(r.body?.error?.code, r.text).toBe(code);
	expect(typeof r.body.error.message).toBe('string');
	expect(r.body.error.request_id).toMatch(/^req_/);
	expect(r.headers.get('x-request-id')).toBe(r.body.error.request_id);
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > deadline) throw new Error('timed out waiting for condition');
		await new Promise((r) => setTimeout(r, intervalMs));
	}
}

/** Creates a sandbox (host-minimal unless told) and asserts it is running. */
export async function createSandbox(org: Org, body: Record<string, unknown> = {}): Promise<any> {
	const r = await call('POST', '/sandboxes', { token: org.key, body: { template_id: 'host-minimal', ...body } });
	expect(r.status, r.text).toBe(201);
	expect(r.body.data.state, r.text).toBe('running');
	return r.body.data;
}

export async function exec(org: Org, id: string, command: string, extra: Record<string, unknown> = {}) {
	const r = await call('POST', `/sandboxes/${id}/exec`, { token: org.key, body: { command, ...extra } });
	expect(r.status, r.text).toBe(200);
	return r.body as { stdout: string; stderr: string; exit_code: number; duration_ms: number; timed_out: boolean };
}

/** Reads an SSE response to its end (or until `until` says stop), returning the parsed data frames. */
export async function readSse(res: Response, until?: (frame: { event?: string; id?: string; data: any }) => boolean, timeoutMs = 30_000) {
	const frames: { event?: string; id?: string; data: any }[] = [];
	const reader = res.body!.getReader();
	const decoder = new TextDecoder();
	let buf = '';
	const deadline = Date.now() + timeoutMs;
	try {
		while (Date.now() < deadline) {
			const { value, done } = await Promise.race([
				reader.read(),
				new Promise<{ value: undefined; done: true }>((r) => setTimeout(() => r({ value: undefined, done: true }), Math.max(1, deadline - Date.now())))
			]);
			if (done) break;
			buf += decoder.decode(value, { stream: true });
			let idx;
			while ((idx = buf.indexOf('\n\n')) >= 0) {
				const block = buf.slice(0, idx);
				buf = buf.slice(idx + 2);
				const frame: { event?: string; id?: string; data: any } = { data: undefined };
				const data: string[] = [];
				for (const line of block.split('\n')) {
					if (line.startsWith('event: ')) frame.event = line.slice(7);
					else if (line.startsWith('id: ')) frame.id = line.slice(4);
					else if (line.startsWith('data: ')) data.push(line.slice(6));
				}
				if (!data.length) continue;
				try {
					frame.data = JSON.parse(data.join('\n'));
				} catch {
					frame.data = data.join('\n');
				}
				frames.push(frame);
				if (until?.(frame)) return frames;
			}
		}
	} finally {
		reader.cancel().catch(() => {});
	}
	return frames;
}

export interface Res {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: Buffer;
	text: string;
}

/** A raw HTTP request to the control plane with any Host header (fetch cannot set Host). */
export function hreq(opts: { method?: string; path: string; host?: string; headers?: Record<string, string>; body?: Buffer | string; base?: string }): Promise<Res> {
	const base = new URL(opts.base ?? baseUrl());
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ host: base.hostname, port: base.port, method: opts.method ?? 'GET', path: opts.path, headers: { ...(opts.host ? { host: opts.host } : {}), ...(opts.headers ?? {}) } },
			(res) => {
				const parts: Buffer[] = [];
				res.on('data', (c: Buffer) => parts.push(c));
				res.on('end', () => {
					const body = Buffer.concat(parts);
					resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
				});
				res.on('error', reject);
			}
		);
		req.on('error', reject);
		req.end(opts.body);
	});
}


/** API calls to a server other than the suite's (one the test starts and restarts); `base()` is read per call. */
export function apiAt(base: () => string) {
	return async (method: string, p: string, opts: { token?: string; body?: unknown } = {}) => {
		const headers: Record<string, string> = {};
		if (opts.token) headers.authorization = `Bearer ${opts.token}`;
		if (opts.body !== undefined) headers['content-type'] = 'application/json';
		const r = await fetch(`${base()}/api/v1${p}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
		const text = await r.text();
		return { status: r.status, text, body: text ? JSON.parse(text) : null };
	};
}
