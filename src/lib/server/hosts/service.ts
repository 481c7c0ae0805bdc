import { and, count, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Hello, Usage } from '$lib/protocol';
import { db } from '../db';
import { host, sandbox, type Host } from '../db/schema';
import { randomToken, sha256Hex } from '../auth/crypto';
import { notFound } from '../http/errors';

export const hostCreateSchema = z.object({
	name: z.string().trim().min(1).max(100),
	region: z.string().trim().min(1).max(50).optional(),
	labels: z.record(z.string(), z.string()).optional()
});

/** Number of hosts whose agent is connected. */
export async function hostsOnline(): Promise<number> {
	const [{ n }] = await db.select({ n: count() }).from(host).where(eq(host.status, 'online'));
	return n;
}

/** Registers a host and returns its key (`hk_…`), shown once; only the hash is stored. */
export async function createHost(
	input: z.infer<typeof hostCreateSchema> & { organizationId: string | null; isLocal?: boolean }
): Promise<{ row: Host; key: string }> {
	const key = `hk_${randomToken(24)}`;
	const [row] = await db
		.insert(host)
		.values({
			organizationId: input.organizationId,
			name: input.name,
			region: input.region ?? 'local',
			labels: input.labels ?? {},
			keyHash: sha256Hex(key),
			keyPrefix: key.slice(0, 10),
			isLocal: input.isLocal ?? false
		})
		.returning();
	return { row, key };
}

/** The local host of `npm start`: one row, with a fresh key on each boot (the old one stops working). */
export async function provisionLocalHost(): Promise<{ row: Host; key: string }> {
	const key = `hk_${randomToken(24)}`;
	const [existing] = await db.select().from(host).where(eq(host.isLocal, true));
	if (existing) {
		const [row] = await db
			.update(host)
			.set({ keyHash: sha256Hex(key), keyPrefix: key.slice(0, 10), status: existing.status === 'revoked' ? 'pending' : existing.status })
			.where(eq(host.id, existing.id))
			.returning();
		return { row, key };
	}
	return createHost({ name: 'local', organizationId: null, isLocal: true });
}

export async function hostByKey(key: string): Promise<Host | null> {
	const [row] = await db.select().from(host).where(eq(host.keyHash, sha256Hex(key)));
	return row && row.status !== 'revoked' ? row : null;
}

/** Hosts an organization may see: the instance's shared hosts and its own. */
export function visibleHosts(orgId: string) {
	return db
		.select()
		.from(host)
		.where(and(or(isNull(host.organizationId), eq(host.organizationId, orgId)), sql`${host.status} <> 'revoked'`))
		.orderBy(host.createdAt);
}

export async function getHost(orgId: string, id: string): Promise<Host> {
	const [row] = await db
		.select()
		.from(host)
		.where(and(eq(host.id, id), or(isNull(host.organizationId), eq(host.organizationId, orgId))));
	if (!row) throw notFound('host');
	return row;
}

export async function recordHello(hostId: string, hello: Hello): Promise<void> {
	await db
		.update(host)
		.set({
			status: 'online',
			name: hello.host.name,
			region: hello.host.region,
			labels: hello.host.labels,
			drivers: hello.host.drivers,
			capacity: { ...hello.host.capacity },
			templates: hello.templates,
			agentVersion: hello.agent_version,
			lastSeenAt: new Date()
		})
		.where(eq(host.id, hostId));
}

export async function recordHeartbeat(hostId: string, usage: Usage): Promise<void> {
	await db
		.update(host)
		.set({ usage: { ...usage }, lastSeenAt: new Date(), status: sql`case when ${host.status} = 'offline' then 'online'::host_status else ${host.status} end` })
		.where(eq(host.id, hostId));
}

export async function markOffline(hostId: string): Promise<void> {
	await db.update(host).set({ status: 'offline' }).where(and(eq(host.id, hostId), sql`${host.status} <> 'revoked'`));
}

export async function setDraining(hostId: string, draining: boolean): Promise<Host> {
	const [row] = await db.update(host).set({ draining }).where(eq(host.id, hostId)).returning();
	return row;
}

export async function revokeHost(hostId: string): Promise<void> {
	await db.update(host).set({ status: 'revoked' }).where(eq(host.id, hostId));
}

export async function updateHostTemplates(hostId: string, id: string, status: string): Promise<void> {
	const [row] = await db.select({ templates: host.templates }).from(host).where(eq(host.id, hostId));
	if (!row) return;
	const list = row.templates.filter((t) => t.id !== id);
	list.push({ id, status });
	await db.update(host).set({ templates: list }).where(eq(host.id, hostId));
}

/** Sandboxes per host that hold capacity (provisioning, running or paused). */
export async function committedByHost(hostIds: string[]) {
	if (!hostIds.length) return new Map<string, { count: number; memoryMb: number }>();
	const rows = await db
		.select({ hostId: sandbox.hostId, n: count(), mem: sql<number>`coalesce(sum(${sandbox.memoryMb}), 0)::int` })
		.from(sandbox)
		.where(and(inArray(sandbox.hostId, hostIds), inArray(sandbox.state, ['provisioning', 'running', 'paused'])))
		.groupBy(sandbox.hostId);
	return new Map(rows.map((r) => [r.hostId!, { count: r.n, memoryMb: Number(r.mem) }]));
}

export function toHostDto(h: Host, connected: boolean) {
	return {
		id: h.id,
		name: h.name,
		status: h.status === 'revoked' ? 'revoked' : h.draining ? 'draining' : connected ? 'online' : h.status === 'pending' ? 'pending' : 'offline',
		draining: h.draining,
		shared: h.organizationId === null,
		local: h.isLocal,
		region: h.region,
		labels: h.labels,
		drivers: h.drivers,
		capacity: h.capacity,
		usage: h.usage,
		templates: h.templates,
		agent_version: h.agentVersion,
		key_prefix: h.keyPrefix,
		last_seen_at: h.lastSeenAt?.toISOString() ?? null,
		created_at: h.createdAt.toISOString()
	};
}
