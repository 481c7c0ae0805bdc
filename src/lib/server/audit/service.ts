import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { db } from '../db';
import { auditEvent } from '../db/schema';
import type { Principal } from '../auth/principal';

export interface AuditInput {
	action: string;
	resourceType?: string;
	resourceId?: string | null;
	workspaceId?: string | null;
	category?: 'resource' | 'security' | 'auth';
	status?: 'success' | 'failure';
	metadata?: Record<string, unknown>;
}

export interface AuditActor {
	principal?: Principal | null;
	organizationId: string;
	requestId?: string | null;
	ip?: string | null;
}

/** The audit actor of a request-scoped caller (principal, request id, address). */
export const auditActorOf = (a: { principal: Principal; requestId: string; ip?: string }): AuditActor => ({
	principal: a.principal,
	organizationId: a.principal.organizationId,
	requestId: a.requestId,
	ip: a.ip
});

/** Writes one audit row: who, what, which resource, request id. */
export async function audit(actor: AuditActor, input: AuditInput): Promise<void> {
	const p = actor.principal;
	await db.insert(auditEvent).values({
		organizationId: actor.organizationId,
		workspaceId: input.workspaceId ?? null,
		actorType: p ? (p.kind === 'api_key' ? 'api_key' : 'user') : 'system',
		actorId: p ? (p.apiKeyId ?? p.userId) : null,
		actorLabel: p?.label ?? 'system',
		action: input.action,
		category: input.category ?? 'resource',
		resourceType: input.resourceType ?? null,
		resourceId: input.resourceId ?? null,
		status: input.status ?? 'success',
		requestId: actor.requestId ?? null,
		ipAddress: actor.ip ?? null,
		metadata: input.metadata ?? {}
	});
}

export interface AuditQuery {
	after?: number;
	limit: number;
	type?: string;
	actorId?: string;
	resourceType?: string;
	resourceId?: string;
	category?: string;
}

/** Newest first; `after` is the cursor (the last id of the previous page). */
export async function listAudit(organizationId: string, q: AuditQuery) {
	const where: SQL[] = [eq(auditEvent.organizationId, organizationId)];
	if (q.after) where.push(lt(auditEvent.id, q.after));
	if (q.type) where.push(eq(auditEvent.action, q.type));
	if (q.actorId) where.push(eq(auditEvent.actorId, q.actorId));
	if (q.resourceType) where.push(eq(auditEvent.resourceType, q.resourceType));
	if (q.resourceId) where.push(eq(auditEvent.resourceId, q.resourceId));
	if (q.category) where.push(eq(auditEvent.category, q.category));
	const rows = await db
		.select()
		.from(auditEvent)
		.where(and(...where))
		.orderBy(desc(auditEvent.id))
		.limit(q.limit + 1);
	const more = rows.length > q.limit;
	const page = rows.slice(0, q.limit);
	return {
		data: page.map((r) => ({
			id: String(r.id),
			type: r.action,
			category: r.category,
			workspace_id: r.workspaceId,
			actor: { type: r.actorType, id: r.actorId, label: r.actorLabel },
			resource: { type: r.resourceType, id: r.resourceId },
			status: r.status,
			request_id: r.requestId,
			ip_address: r.ipAddress,
			metadata: r.metadata,
			ts: r.createdAt.toISOString()
		})),
		next_cursor: more ? String(page[page.length - 1].id) : null
	};
}
