import { and, eq, isNull, or, sql } from 'drizzle-orm';
import { db } from '../db';
import { host } from '../db/schema';
import { ApiError } from '../http/errors';
import { committedByHost } from './service';
import { isConnected } from './connections';

export interface PlacementRequest {
	organizationId: string;
	region?: string;
	labels?: Record<string, string>;
	memoryMb: number;
	/** Only this host (a restore or fork must run where its snapshot is stored). */
	hostId?: string;
}

/** Regions that have at least one registered host the organization may use. */
export async function knownRegions(orgId: string): Promise<string[]> {
	const rows = await db
		.selectDistinct({ region: host.region })
		.from(host)
		.where(and(or(isNull(host.organizationId), eq(host.organizationId, orgId)), sql`${host.status} <> 'revoked'`));
	return rows.map((r) => r.region);
}

/**
 * Picks a host for a new sandbox: connected, online, not draining, in the region, carrying the
 * labels, under its sandbox cap; then the one with the most uncommitted memory (ties: fewest
 * sandboxes). The organization's own hosts are preferred over shared ones.
 */
export async function placeSandbox(req: PlacementRequest): Promise<{ id: string; region: string }> {
	const rows = await db
		.select()
		.from(host)
		.where(
			and(
				or(isNull(host.organizationId), eq(host.organizationId, req.organizationId)),
				eq(host.status, 'online'),
				eq(host.draining, false),
				req.region ? eq(host.region, req.region) : sql`true`,
				req.hostId ? eq(host.id, req.hostId) : sql`true`
			)
		);
	const candidates = rows.filter(
		(h) => isConnected(h.id) && Object.entries(req.labels ?? {}).every(([k, v]) => h.labels[k] === v)
	);
	if (!candidates.length && req.hostId) {
		throw new ApiError(409, 'region_unavailable', 'the host that stores this snapshot is offline, draining or not available to you; retry when it is back', {
			host_id: req.hostId
		});
	}
	if (!candidates.length) {
		throw new ApiError(409, 'region_unavailable', req.region ? `no host is available in region ${req.region}` : 'no host is available', {
			region: req.region ?? null
		});
	}
	const committed = await committedByHost(candidates.map((h) => h.id));
	const scored = candidates
		.map((h) => {
			const c = committed.get(h.id) ?? { count: 0, memoryMb: 0 };
			const cap = h.capacity.max_sandboxes ?? Infinity;
			// Sandboxes are limits, not reservations: overcommit memory 4x before refusing.
			const free = (h.capacity.memory_mb ?? 0) * 4 - c.memoryMb;
			return { h, c, cap, free, own: h.organizationId === req.organizationId };
		})
		.filter((s) => s.c.count < s.cap && s.free >= Math.min(req.memoryMb, 512));
	if (!scored.length) throw new ApiError(409, 'region_unavailable', 'every eligible host is at capacity; retry shortly');
	scored.sort((a, b) => Number(b.own) - Number(a.own) || b.free - a.free || a.c.count - b.c.count);
	return { id: scored[0].h.id, region: scored[0].h.region };
}
