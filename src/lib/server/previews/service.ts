// Previews: records (a port of a sandbox and who may see it), share tokens, preview tokens,
// `expose`, and the readiness probe that emits `sandbox.preview.ready`.
import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import { db } from '../db';
import { member, preview, previewShare, sandbox, type Preview, type Sandbox } from '../db/schema';
import { randomToken } from '../auth/crypto';
import { audit, auditActorOf } from '../audit/service';
import { emit } from '../events/service';
import { openAgentChannel } from '../hosts/channels';
import { ApiError, notFound } from '../http/errors';
import { findTemplate } from '../sandboxes/templates';
import type { Actor } from '../sandboxes/service';
import { previewUrls } from './config';
import {
	DEFAULT_PREVIEW_TOKEN_SEC,
	hashShareToken,
	mintPreviewToken,
	newShareToken,
	type PreviewScope
} from './tokens';

export type Visibility = 'private' | 'public';

export function toPreviewDto(p: Preview, origin?: string | URL) {
	const urls = previewUrls(p.sandboxId, p.port, origin);
	return {
		id: p.id,
		sandbox_id: p.sandboxId,
		port: p.port,
		visibility: p.visibility as Visibility,
		url: urls.url,
		path_url: urls.path_url,
		status: p.deletedAt ? 'deleted' : 'active',
		created_at: p.createdAt.toISOString(),
		deleted_at: p.deletedAt?.toISOString() ?? null
	};
}
export type PreviewDto = ReturnType<typeof toPreviewDto>;

/** The template's preview port, else 3000. */
export function defaultPort(s: Sandbox): number {
	return findTemplate(s.templateId)?.preview_port ?? 3000;
}

function assertLive(s: Sandbox) {
	if (s.state === 'destroyed') throw new ApiError(400, 'SANDBOX_DESTROYED', 'the sandbox is destroyed');
}

export async function listPreviews(s: Sandbox): Promise<Preview[]> {
	return db
		.select()
		.from(preview)
		.where(and(eq(preview.sandboxId, s.id), isNull(preview.deletedAt)))
		.orderBy(desc(preview.createdAt));
}

export async function getPreview(s: Sandbox, id: string): Promise<Preview> {
	const [row] = await db
		.select()
		.from(preview)
		.where(and(eq(preview.id, id), eq(preview.sandboxId, s.id), eq(preview.organizationId, s.organizationId), isNull(preview.deletedAt)));
	if (!row) throw notFound('preview');
	return row;
}

/** The live preview record of a port, if any. */
export async function previewForPort(sandboxId: string, port: number): Promise<Preview | null> {
	const [row] = await db
		.select()
		.from(preview)
		.where(and(eq(preview.sandboxId, sandboxId), eq(preview.port, port), isNull(preview.deletedAt)));
	return row ?? null;
}

/**
 * Creates the preview of a port (or returns the existing one, updating its visibility when
 * asked). `created` tells whether it is new.
 */
export async function createPreview(
	actor: Actor,
	s: Sandbox,
	input: { port: number; visibility?: Visibility },
	origin?: string | URL
): Promise<{ row: Preview; created: boolean }> {
	assertLive(s);
	const existing = await previewForPort(s.id, input.port);
	if (existing) {
		if (input.visibility && input.visibility !== existing.visibility) {
			const [row] = await db.update(preview).set({ visibility: input.visibility }).where(eq(preview.id, existing.id)).returning();
			forgetTarget(s.id);
			await audit(auditActorOf(actor), { action: 'preview.updated', resourceType: 'preview', resourceId: row.id, workspaceId: s.workspaceId, metadata: { visibility: row.visibility } });
			return { row, created: false };
		}
		return { row: existing, created: false };
	}
	let row: Preview;
	try {
		[row] = await db
			.insert(preview)
			.values({
				id: `preview_${randomToken(12)}`,
				organizationId: s.organizationId,
				sandboxId: s.id,
				port: input.port,
				visibility: input.visibility ?? 'private',
				createdBy: actor.principal.userId
			})
			.returning();
	} catch (e) {
		// A concurrent create of the same port won the unique index.
		const again = await previewForPort(s.id, input.port);
		if (again) return { row: again, created: false };
		throw e;
	}
	forgetTarget(s.id);
	const urls = previewUrls(s.id, row.port, origin);
	await emit({
		organizationId: s.organizationId,
		workspaceId: s.workspaceId,
		type: 'sandbox.preview.created',
		resourceType: 'sandbox',
		resourceId: s.id,
		data: { sandbox_id: s.id, preview_id: row.id, port: row.port, visibility: row.visibility, url: urls.url }
	});
	await audit(auditActorOf(actor), { action: 'preview.created', resourceType: 'preview', resourceId: row.id, workspaceId: s.workspaceId, metadata: { sandbox_id: s.id, port: row.port, visibility: row.visibility } });
	probeReadiness(s, row, urls.url);
	return { row, created: true };
}

export async function deletePreview(actor: Actor, s: Sandbox, p: Preview): Promise<Preview> {
	const now = new Date();
	const [row] = await db.update(preview).set({ deletedAt: now }).where(eq(preview.id, p.id)).returning();
	forgetTarget(s.id);
	await db.update(previewShare).set({ active: false, revokedAt: now }).where(and(eq(previewShare.previewId, p.id), eq(previewShare.active, true)));
	await emit({ organizationId: s.organizationId, workspaceId: s.workspaceId, type: 'sandbox.preview.deleted', resourceType: 'sandbox', resourceId: s.id, data: { sandbox_id: s.id, preview_id: p.id, port: p.port } });
	await audit(auditActorOf(actor), { action: 'preview.deleted', resourceType: 'preview', resourceId: p.id, workspaceId: s.workspaceId, metadata: { sandbox_id: s.id } });
	return row;
}

// ------------------------------------------------------------------------------------------
// Share tokens

export async function sharePreview(actor: Actor, s: Sandbox, p: Preview, ttlSec: number, origin?: string | URL) {
	const { token, hash, prefix } = newShareToken();
	const expiresAt = new Date(Date.now() + ttlSec * 1000);
	await db.insert(previewShare).values({ previewId: p.id, tokenHash: hash, tokenPrefix: prefix, expiresAt });
	await audit(auditActorOf(actor), { action: 'preview.shared', resourceType: 'preview', resourceId: p.id, workspaceId: s.workspaceId, metadata: { ttl_seconds: ttlSec, prefix } });
	const url = new URL(previewUrls(s.id, p.port, origin).url);
	url.searchParams.set('preview_token', token);
	return {
		data: { ...toPreviewDto(p, origin), id: p.id, share_token_prefix: prefix, share_token_expires_at: expiresAt.toISOString() },
		preview_token: token,
		share_url: url.toString()
	};
}

export async function revokeShares(actor: Actor, s: Sandbox, p: Preview): Promise<number> {
	const rows = await db
		.update(previewShare)
		.set({ active: false, revokedAt: new Date() })
		.where(and(eq(previewShare.previewId, p.id), eq(previewShare.active, true)))
		.returning({ id: previewShare.id });
	await audit(auditActorOf(actor), { action: 'preview.share_revoked', resourceType: 'preview', resourceId: p.id, workspaceId: s.workspaceId, metadata: { revoked: rows.length } });
	forgetShareCache();
	return rows.length;
}

const shareCache = new Map<string, { at: number; value: { sandboxId: string; port: number; expiresAt: Date } | null }>();
function forgetShareCache() {
	shareCache.clear();
}

/** The sandbox and port a share token opens, if it is active and unexpired (cached 2 s). */
export async function resolveShareToken(token: string): Promise<{ sandboxId: string; port: number; expiresAt: Date } | null> {
	const hash = hashShareToken(token);
	const now = Date.now();
	const hit = shareCache.get(hash);
	if (hit && now - hit.at < 2000) return hit.value && hit.value.expiresAt.getTime() > now ? hit.value : null;
	const [row] = await db
		.select({ sandboxId: preview.sandboxId, port: preview.port, expiresAt: previewShare.expiresAt })
		.from(previewShare)
		.innerJoin(preview, eq(previewShare.previewId, preview.id))
		.where(
			and(
				eq(previewShare.tokenHash, hash),
				eq(previewShare.active, true),
				isNull(previewShare.revokedAt),
				isNull(preview.deletedAt),
				gt(previewShare.expiresAt, new Date(now))
			)
		);
	const value = row ?? null;
	if (shareCache.size > 10_000) shareCache.clear();
	shareCache.set(hash, { at: now, value });
	return value;
}

// ------------------------------------------------------------------------------------------
// Preview tokens (mp_) and expose

export function mintToken(s: Sandbox, input: { expires_in?: number; scope?: PreviewScope; port?: number }, origin?: string | URL) {
	assertLive(s);
	const ttl = input.expires_in ?? DEFAULT_PREVIEW_TOKEN_SEC;
	const scope = input.scope ?? 'read';
	const exp = Math.floor(Date.now() / 1000) + ttl;
	const token = mintPreviewToken({ sub: s.id, org: s.organizationId, scope, exp, ...(input.port ? { port: input.port } : {}) });
	const port = input.port ?? defaultPort(s);
	const urls = previewUrls(s.id, port, origin);
	const withToken = (u: string) => {
		const x = new URL(u);
		x.searchParams.set('mt', token);
		return x.toString();
	};
	return { token, url: withToken(urls.url), path_url: withToken(urls.path_url), expires_at: new Date(exp * 1000).toISOString(), scope, port };
}

export async function expose(actor: Actor, s: Sandbox, input: { port?: number; visibility?: Visibility }, origin?: string | URL) {
	const port = input.port ?? defaultPort(s);
	const { row } = await createPreview(actor, s, { port, visibility: input.visibility ?? (await previewForPort(s.id, port))?.visibility as Visibility ?? 'public' }, origin);
	const dto = toPreviewDto(row, origin);
	const isPublic = row.visibility === 'public';
	const urlInfo = {
		url: dto.url,
		class: 'preview',
		url_class: isPublic ? 'public_preview' : 'private_preview',
		stable_for_embedding: isPublic,
		recommended_next_action: isPublic
			? 'open or embed the url; it serves the port while the sandbox runs (a paused persistent sandbox resumes on the first request)'
			: `mint a share token (POST /sandboxes/${s.id}/previews/${row.id}/share) or a preview token (POST /sandboxes/${s.id}/preview-token) and add it to the url`,
		alias_slug: null,
		port,
		path_url: dto.path_url,
		preview_id: row.id,
		visibility: row.visibility
	};
	return { url: dto.url, preview_url: dto.url, path_url: dto.path_url, preview: dto, url_info: urlInfo, url_class: urlInfo.url_class, stable_for_embedding: isPublic, recommended_next_action: urlInfo.recommended_next_action };
}

// ------------------------------------------------------------------------------------------
// Access by dashboard session

const memberCache = new Map<string, { at: number; ok: boolean }>();
/** Whether a user belongs to an organization (cached 5 s). */
export async function isMember(userId: string, organizationId: string): Promise<boolean> {
	const key = `${userId}:${organizationId}`;
	const hit = memberCache.get(key);
	if (hit && Date.now() - hit.at < 5000) return hit.ok;
	const [row] = await db
		.select({ id: member.userId })
		.from(member)
		.where(and(eq(member.userId, userId), eq(member.organizationId, organizationId)));
	if (memberCache.size > 10_000) memberCache.clear();
	memberCache.set(key, { at: Date.now(), ok: !!row });
	return !!row;
}

// The proxy's per-request lookup (a page load fans out into many requests): the sandbox row and
// the port's preview, kept 1 s. Changes made on this replica drop the entry at once.
const targetCache = new Map<string, { at: number; row: Sandbox | null; pv: Preview | null }>();
export async function lookupTarget(sandboxId: string, port: number): Promise<{ row: Sandbox | null; pv: Preview | null }> {
	const key = `${sandboxId}:${port}`;
	const hit = targetCache.get(key);
	if (hit && Date.now() - hit.at < 1000) return hit;
	const row = await sandboxById(sandboxId);
	const pv = row ? await previewForPort(row.id, port) : null;
	if (targetCache.size > 5000) targetCache.clear();
	const v = { at: Date.now(), row, pv };
	targetCache.set(key, v);
	return v;
}
export function forgetTarget(sandboxId: string): void {
	for (const k of targetCache.keys()) if (k.startsWith(`${sandboxId}:`)) targetCache.delete(k);
}

export async function sandboxById(id: string): Promise<Sandbox | null> {
	const [row] = await db.select().from(sandbox).where(eq(sandbox.id, id));
	return row ?? null;
}

// ------------------------------------------------------------------------------------------
// Readiness: `sandbox.preview.ready` once the port answers

const probing = new Set<string>();
const PROBE_FOR_MS = 10 * 60_000;

/** Polls the port (a tcp channel that connects) in the background; emits once it answers. */
export function probeReadiness(s: Sandbox, p: Preview, url: string): void {
	if (probing.has(p.id) || !s.hostId) return;
	probing.add(p.id);
	const started = Date.now();
	void (async () => {
		try {
			let delay = 250;
			while (Date.now() - started < PROBE_FOR_MS) {
				const [cur] = await db.select({ state: sandbox.state }).from(sandbox).where(eq(sandbox.id, s.id));
				const [pv] = await db.select({ deletedAt: preview.deletedAt }).from(preview).where(eq(preview.id, p.id));
				if (!cur || cur.state === 'destroyed' || cur.state === 'error' || !pv || pv.deletedAt) return;
				if (cur.state === 'running') {
					try {
						const ch = await openAgentChannel(s.hostId!, 'tcp', { sandbox_id: s.id, port: p.port }, { timeoutMs: 10_000 });
						ch.destroy();
						await emit({
							organizationId: s.organizationId,
							workspaceId: s.workspaceId,
							type: 'sandbox.preview.ready',
							resourceType: 'sandbox',
							resourceId: s.id,
							data: { sandbox_id: s.id, preview_id: p.id, url, port: p.port }
						});
						return;
					} catch {
						// not listening yet
					}
				}
				await new Promise((r) => setTimeout(r, delay));
				delay = Math.min(2000, Math.round(delay * 1.5));
			}
		} finally {
			probing.delete(p.id);
		}
	})().catch((e) => console.error('preview readiness probe failed', e));
}
