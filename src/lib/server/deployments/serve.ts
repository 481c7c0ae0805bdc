// Serving deployment URLs. A request names a deployment (and environment) by host or path; the
// route table says which version serves it. Static versions are files from the unpacked release,
// answered here with ETags (each file's sha256) and cache headers; dynamic versions go to a
// healthy runtime instance over the agent's tcp channel (the preview proxy's HTTP path).
//
// Switching versions is one row update (promote/rollback); the resolved route is cached here for
// at most ROUTE_TTL_MS and dropped at once when a deployment event arrives (any replica), so a
// switch takes effect within milliseconds and requests in flight finish on the version they began.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Deployment, DeploymentVersion } from '../db/schema';
import { subscribe } from '../events/service';
import { openAgentChannel } from '../hosts/channels';
import type { PageSpec } from '../previews/pages';
import { pipeHttp, pipeUpgrade, refuseUpgrade as refusePreviewUpgrade, sendPage as sendPreviewPage } from '../previews/proxy';
import type { PreviewTarget } from '../previews/config';
import type { AppTarget } from './config';
import { resolveServeRoute } from './service';
import { ensureSite, readManifest, type Manifest } from './store';
import { servingInstance } from './runtime';

const ROUTE_TTL_MS = 5000;

const sendPage = (res: ServerResponse, p: PageSpec) => sendPreviewPage(res, { brand: 'Hangar', ...p });
const refuseUpgrade = (socket: Duplex, p: PageSpec) => refusePreviewUpgrade(socket, { brand: 'Hangar', ...p });

interface Resolved {
	deployment: Deployment | null;
	version: DeploymentVersion | null;
	environment: string;
	at: number;
}

const routes = new Map<string, Resolved>();
const manifests = new Map<string, Manifest>();
let subscribed = false;

function ensureSubscribed() {
	if (subscribed) return;
	subscribed = true;
	subscribe((e) => {
		if (e.type.startsWith('deployment.')) routes.clear();
	});
}

/** Drops cached routes (tests and promotion on this replica call it too). */
export function forgetRoutes(): void {
	routes.clear();
}

async function resolve(t: AppTarget): Promise<Resolved> {
	ensureSubscribed();
	const key = `${t.orgSlug}/${t.deploymentSlug}/${t.envLabel}`;
	const hit = routes.get(key);
	if (hit && Date.now() - hit.at < ROUTE_TTL_MS) return hit;
	const r = await resolveServeRoute(t.orgSlug, t.deploymentSlug, t.envLabel);
	const value: Resolved = r ? { deployment: r.deployment, version: r.version, environment: r.environment, at: Date.now() } : { deployment: null, version: null, environment: '', at: Date.now() };
	routes.set(key, value);
	if (routes.size > 10_000) routes.delete(routes.keys().next().value!);
	return value;
}

async function manifestOf(sha: string): Promise<Manifest | null> {
	const hit = manifests.get(sha);
	if (hit) return hit;
	const m = await readManifest(sha);
	if (m) {
		manifests.set(sha, m);
		if (manifests.size > 200) manifests.delete(manifests.keys().next().value!);
	}
	return m;
}

const TYPES: Record<string, string> = {
	html: 'text/html; charset=utf-8',
	htm: 'text/html; charset=utf-8',
	css: 'text/css; charset=utf-8',
	js: 'text/javascript; charset=utf-8',
	mjs: 'text/javascript; charset=utf-8',
	json: 'application/json; charset=utf-8',
	map: 'application/json; charset=utf-8',
	txt: 'text/plain; charset=utf-8',
	md: 'text/markdown; charset=utf-8',
	xml: 'application/xml; charset=utf-8',
	svg: 'image/svg+xml',
	png: 'image/png',
	jpg: 'image/jpeg',
	jpeg: 'image/jpeg',
	gif: 'image/gif',
	webp: 'image/webp',
	avif: 'image/avif',
	ico: 'image/x-icon',
	woff: 'font/woff',
	woff2: 'font/woff2',
	ttf: 'font/ttf',
	otf: 'font/otf',
	wasm: 'application/wasm',
	pdf: 'application/pdf',
	mp4: 'video/mp4',
	webm: 'video/webm',
	mp3: 'audio/mpeg',
	wav: 'audio/wav',
	webmanifest: 'application/manifest+json',
	csv: 'text/csv; charset=utf-8'
};

const contentType = (p: string) => TYPES[path.extname(p).slice(1).toLowerCase()] ?? 'application/octet-stream';
/** Build tools put a content hash in the names of files that never change. */
const FINGERPRINTED = /(^|\/)(_app\/immutable|_next\/static|assets)\/.+[.-][A-Za-z0-9_-]{8,}\.[a-z0-9]+$|[.-][a-f0-9]{8,}\.[a-z0-9]+$/;

function cacheControl(p: string): string {
	if (FINGERPRINTED.test(p)) return 'public, max-age=31536000, immutable';
	// Everything else revalidates (a cheap 304 with the ETag), so a rollback is seen at once.
	return 'public, max-age=0, must-revalidate';
}

/** A manifest file entry for a URL path, following in-artifact symlinks; null when absent. */
function lookup(m: Manifest, rel: string): { rel: string; sha256: string; size: number } | null {
	for (let hops = 0; hops < 8; hops++) {
		const e = m.files[rel];
		if (!e) return null;
		if (e.type === 'file') return { rel, sha256: e.sha256 ?? '', size: e.size };
		if (e.type !== 'symlink' || !e.target || e.target.startsWith('/')) return null;
		const next = path.posix.normalize(path.posix.join(path.posix.dirname(rel), e.target));
		if (next.startsWith('..')) return null;
		rel = next;
	}
	return null;
}

const isDir = (m: Manifest, rel: string) => rel === '' || m.files[rel]?.type === 'dir';

function baseHeaders(t: AppTarget, d: Deployment, v: DeploymentVersion): Record<string, string> {
	const h: Record<string, string> = {
		'x-hangar-deployment': d.id,
		'x-hangar-version': `${v.versionNumber}`,
		'x-content-type-options': 'nosniff'
	};
	// The path form shares the dashboard's origin: an opaque origin for the site's documents, as
	// for previews (HANGAR_APPS_PATH_FORM=unsafe lifts it for trusted sites).
	if (t.prefix && process.env.HANGAR_APPS_PATH_FORM !== 'unsafe') h['content-security-policy'] = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';
	return h;
}

async function serveStatic(req: IncomingMessage, res: ServerResponse, t: AppTarget, d: Deployment, v: DeploymentVersion): Promise<void> {
	const method = (req.method ?? 'GET').toUpperCase();
	if (method !== 'GET' && method !== 'HEAD') {
		res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
		res.end('static sites answer GET and HEAD only\n');
		return;
	}
	const sha = v.artifactSha256;
	let dir: string;
	let m: Manifest | null;
	try {
		dir = await ensureSite(sha!);
		m = await manifestOf(sha!);
		if (!m) throw new Error('no manifest');
	} catch {
		return sendPage(res, { status: 410, code: 'ARTIFACT_GONE', title: 'This version is no longer available', message: 'Its artifact was removed after its retention period. Publish again or roll back to a newer version.' });
	}
	const url = new URL(t.path, 'http://app.invalid');
	let decoded: string;
	try {
		decoded = decodeURIComponent(url.pathname);
	} catch {
		return sendPage(res, { status: 400, code: 'BAD_PATH', title: 'Bad request', message: 'The URL path is not valid.' });
	}
	if (decoded.includes('\0')) return sendPage(res, { status: 400, code: 'BAD_PATH', title: 'Bad request', message: 'The URL path is not valid.' });
	const rel = path.posix.normalize(decoded).replace(/^\/+/, '').replace(/\/+$/, '');
	if (rel.startsWith('..')) return sendPage(res, { status: 400, code: 'BAD_PATH', title: 'Bad request', message: 'The URL path is not valid.' });
	const headers = baseHeaders(t, d, v);

	let hit = rel && !decoded.endsWith('/') ? lookup(m, rel) : null;
	let status = 200;
	if (!hit && isDir(m, rel)) {
		if (rel && !decoded.endsWith('/')) {
			res.writeHead(301, { ...headers, location: `${t.prefix}/${rel}/${url.search}`, 'cache-control': 'no-cache' });
			res.end();
			return;
		}
		hit = lookup(m, rel ? `${rel}/index.html` : 'index.html');
	}
	if (!hit && rel && !path.posix.extname(rel)) hit = lookup(m, `${rel}.html`);
	if (!hit && v.config.spa) hit = lookup(m, 'index.html');
	if (!hit) {
		const nf = lookup(m, '404.html');
		if (!nf) {
			return sendPage(res, { status: 404, code: 'NOT_FOUND', title: 'Not found', message: `There is no ${decoded} in version ${v.versionNumber} of this site.`, headers });
		}
		hit = nf;
		status = 404;
	}
	const full = path.join(dir, hit.rel);
	// Serve only files inside the unpacked artifact (no symlink may lead out of it).
	let real: string;
	try {
		real = await fs.promises.realpath(full);
	} catch {
		return sendPage(res, { status: 404, code: 'NOT_FOUND', title: 'Not found', message: `There is no ${decoded} in this site.`, headers });
	}
	if (!real.startsWith(dir + path.sep)) return sendPage(res, { status: 404, code: 'NOT_FOUND', title: 'Not found', message: `There is no ${decoded} in this site.`, headers });
	// Text is gzipped on the fly when the client accepts it (its own ETag: a different body).
	const type = contentType(hit.rel);
	const gzip = hit.size >= 1024 && COMPRESSIBLE.test(type) && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
	const etag = `"${hit.sha256.slice(0, 32)}${gzip ? '-gz' : ''}"`;
	// Public files: readable cross-origin (module scripts of a sandboxed path-form page need it).
	const common = { ...headers, 'access-control-allow-origin': '*', etag, 'cache-control': status === 200 ? cacheControl(hit.rel) : 'no-cache', vary: 'Accept-Encoding' };
	if (status === 200 && req.headers['if-none-match'] && req.headers['if-none-match'].split(',').some((x) => x.trim().replace(/^W\//, '') === etag)) {
		res.writeHead(304, common);
		res.end();
		return;
	}
	// One byte range (media seeking, resumed downloads) on the identity encoding.
	let range: { start: number; end: number } | null = null;
	const rangeHeader = req.headers.range;
	const ifRange = req.headers['if-range'];
	if (status === 200 && !gzip && rangeHeader && (!ifRange || ifRange === etag)) {
		const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
		if (m && (m[1] || m[2])) {
			const start = m[1] ? Number(m[1]) : Math.max(0, hit.size - Number(m[2]));
			const end = m[1] ? (m[2] ? Math.min(Number(m[2]), hit.size - 1) : hit.size - 1) : hit.size - 1;
			if (start >= hit.size || start > end) {
				res.writeHead(416, { ...common, 'content-range': `bytes */${hit.size}` });
				res.end();
				return;
			}
			range = { start, end };
		}
	}
	if (range) {
		res.writeHead(206, { ...common, 'accept-ranges': 'bytes', 'content-type': type, 'content-range': `bytes ${range.start}-${range.end}/${hit.size}`, 'content-length': String(range.end - range.start + 1) });
	} else {
		res.writeHead(status, { ...common, 'accept-ranges': 'bytes', 'content-type': type, ...(gzip ? { 'content-encoding': 'gzip' } : { 'content-length': String(hit.size) }) });
	}
	if (method === 'HEAD') {
		res.end();
		return;
	}
	const stream = fs.createReadStream(real, range ? { start: range.start, end: range.end } : {});
	stream.on('error', () => res.destroy());
	res.on('close', () => stream.destroy());
	if (gzip) {
		const z = zlib.createGzip({ level: 6 });
		z.on('error', () => res.destroy());
		stream.pipe(z).pipe(res);
	} else stream.pipe(res);
}

const COMPRESSIBLE = /^(text\/|application\/(json|javascript|xml|wasm|manifest\+json)|image\/svg\+xml)/;

function notServing(r: Resolved, t: AppTarget): PageSpec {
	if (!r.deployment) return { status: 404, code: 'DEPLOYMENT_NOT_FOUND', title: 'No deployment here', message: 'Nothing is deployed at this address.' };
	const env = t.envLabel ? `the ${t.envLabel} environment of ` : '';
	return {
		status: 503,
		code: 'NOT_PUBLISHED',
		title: 'Not published yet',
		message: `${env}${r.deployment.name} has no active version yet. Publish one (its build may be running now).`,
		refresh: 5,
		headers: { 'retry-after': '5' }
	};
}

function appTarget(t: AppTarget, d: Deployment, v: DeploymentVersion, sandboxId: string, port: number): PreviewTarget {
	return {
		form: t.form,
		sandboxId,
		port,
		path: t.path,
		prefix: t.prefix,
		needsSlash: false,
		responseTag: { name: 'X-Hangar-Deployment', value: `${d.id}; version=${v.versionNumber}` }
	};
}

async function openRuntime(v: DeploymentVersion): Promise<{ ch: import('$lib/protocol/peer').Channel; sandboxId: string; port: number } | PageSpec> {
	const inst = await servingInstance(v.id);
	if (!inst) {
		return { status: 503, code: 'RUNTIME_STARTING', title: 'The app is starting', message: 'Its runtime is being (re)started. This page reloads in a few seconds.', refresh: 3, headers: { 'retry-after': '3' } };
	}
	try {
		const ch = await openAgentChannel(inst.sandbox.hostId!, 'tcp', { sandbox_id: inst.sandbox.id, port: inst.instance.port });
		return { ch, sandboxId: inst.sandbox.id, port: inst.instance.port };
	} catch {
		return { status: 502, code: 'RUNTIME_UNAVAILABLE', title: 'The app is not answering', message: 'Its runtime did not accept the connection. It is restarted automatically; retry shortly.', refresh: 5, headers: { 'retry-after': '5' } };
	}
}

export async function handleAppHttp(req: IncomingMessage, res: ServerResponse, t: AppTarget): Promise<void> {
	if (t.needsSlash) {
		const q = t.path.indexOf('?');
		res.writeHead(308, { location: `${t.prefix}/${q >= 0 ? t.path.slice(q) : ''}`, 'cache-control': 'no-store' });
		res.end();
		return;
	}
	const r = await resolve(t);
	if (!r.deployment || !r.version) return sendPage(res, notServing(r, t));
	const d = r.deployment;
	const v = r.version;
	if (v.kind === 'static') return serveStatic(req, res, t, d, v);
	const rt = await openRuntime(v);
	if ('status' in rt) return sendPage(res, rt);
	const url = new URL(t.path, 'http://app.invalid');
	pipeHttp(req, res, rt.ch, appTarget(t, d, v, rt.sandboxId, rt.port), url.pathname + url.search);
}

export async function handleAppUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, t: AppTarget): Promise<void> {
	socket.on('error', () => undefined);
	const r = await resolve(t);
	if (!r.deployment || !r.version) return refuseUpgrade(socket, notServing(r, t));
	if (r.version.kind !== 'dynamic') return refuseUpgrade(socket, { status: 400, code: 'NOT_DYNAMIC', title: 'Static site', message: 'Static sites do not accept WebSocket connections.' });
	const rt = await openRuntime(r.version);
	if ('status' in rt) return refuseUpgrade(socket, rt);
	const url = new URL(t.path, 'http://app.invalid');
	pipeUpgrade(req, socket, head, rt.ch, appTarget(t, r.deployment, r.version, rt.sandboxId, rt.port), url.pathname + url.search);
}

