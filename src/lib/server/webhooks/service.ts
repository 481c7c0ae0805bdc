import crypto from 'node:crypto';
import { and, desc, eq, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { db } from '../db';
import { webhook, webhookDelivery, type Webhook, type WebhookDelivery } from '../db/schema';
import { randomToken } from '../auth/crypto';
import { notFound } from '../http/errors';
import { seal, unseal } from '../secrets';
import { onStart, onStop } from '../startup';
import { subscribe, type HangarEvent } from '../events/service';
import { eventFrame, typeMatcher } from '../events/stream';

export const webhookCreateSchema = z.object({
	url: z
		.string()
		.url()
		.refine((u) => /^https?:$/.test(new URL(u).protocol), 'only http(s) URLs'),
	events: z.array(z.string().min(1).max(100)).min(1).max(50).default(['*']),
	description: z.string().max(500).optional(),
	active: z.boolean().optional(),
	/** Attempts in all (first try included), 1–11: the contract's 0–10 retries. */
	max_attempts: z.number().int().min(1).max(11).optional(),
	max_retries: z.number().int().min(0).max(10).optional()
});
export const webhookUpdateSchema = webhookCreateSchema.partial();

const ULID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const newWebhookId = () => 'wh_' + Array.from(crypto.randomBytes(16), (b) => ULID_ALPHABET[b % 32]).join('');

export function toWebhookDto(w: Webhook) {
	return {
		id: w.id,
		url: w.url,
		events: w.events,
		description: w.description,
		active: w.active,
		max_attempts: w.maxAttempts,
		secret_prefix: w.secretPrefix,
		created_at: w.createdAt.toISOString(),
		updated_at: w.updatedAt.toISOString()
	};
}

export function toDeliveryDto(d: WebhookDelivery) {
	return {
		id: d.id,
		webhook_id: d.webhookId,
		event_id: d.eventId,
		event_type: d.eventType,
		status: d.status,
		attempts: d.attempts,
		next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
		last_status_code: d.lastStatusCode,
		last_error: d.lastError,
		delivered_at: d.deliveredAt?.toISOString() ?? null,
		created_at: d.createdAt.toISOString()
	};
}

/** The secret (`sk_live_…`) is returned once; it is stored encrypted because signing needs it. */
export async function createWebhook(orgId: string, input: z.infer<typeof webhookCreateSchema>) {
	forgetHooks(orgId);
	const secret = `sk_live_${randomToken(24)}`;
	const [row] = await db
		.insert(webhook)
		.values({
			id: newWebhookId(),
			organizationId: orgId,
			url: input.url,
			events: input.events,
			description: input.description ?? null,
			active: input.active ?? true,
			maxAttempts: input.max_attempts ?? (input.max_retries !== undefined ? input.max_retries + 1 : 4),
			secretSealed: seal(secret),
			secretPrefix: secret.slice(0, 12)
		})
		.returning();
	return { row, secret };
}

export async function listWebhooks(orgId: string) {
	return db.select().from(webhook).where(eq(webhook.organizationId, orgId)).orderBy(desc(webhook.createdAt));
}

export async function getWebhook(orgId: string, id: string): Promise<Webhook> {
	const [row] = await db.select().from(webhook).where(and(eq(webhook.organizationId, orgId), eq(webhook.id, id)));
	if (!row) throw notFound('webhook');
	return row;
}

export async function updateWebhook(orgId: string, id: string, input: z.infer<typeof webhookUpdateSchema>) {
	forgetHooks(orgId);
	await getWebhook(orgId, id);
	const [row] = await db
		.update(webhook)
		.set({
			...(input.url !== undefined && { url: input.url }),
			...(input.events !== undefined && { events: input.events }),
			...(input.description !== undefined && { description: input.description }),
			...(input.active !== undefined && { active: input.active }),
			...(input.max_attempts !== undefined && { maxAttempts: input.max_attempts }),
			...(input.max_retries !== undefined && { maxAttempts: input.max_retries + 1 }),
			updatedAt: new Date()
		})
		.where(eq(webhook.id, id))
		.returning();
	return row;
}

export async function deleteWebhook(orgId: string, id: string) {
	forgetHooks(orgId);
	const w = await getWebhook(orgId, id);
	await db.delete(webhook).where(eq(webhook.id, id));
	return w;
}

export async function listDeliveries(orgId: string, id: string, limit = 50) {
	await getWebhook(orgId, id);
	return db.select().from(webhookDelivery).where(eq(webhookDelivery.webhookId, id)).orderBy(desc(webhookDelivery.createdAt)).limit(limit);
}

/** `Miosa-Signature: t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<raw body>")>`. */
export function sign(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
	const v1 = crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
	return `t=${t},v1=${v1}`;
}

/** Records a delivery of the event to the webhook (once, whichever replica is first) and tries it. */
export async function enqueue(w: Webhook, e: { id: string; type: string; payload: string }) {
	const [row] = await db
		.insert(webhookDelivery)
		.values({ webhookId: w.id, eventId: e.id, eventType: e.type, payload: e.payload, nextAttemptAt: new Date() })
		.onConflictDoNothing()
		.returning();
	if (row) void attempt(row.id);
	return row ?? null;
}

/** Sends a test event to one webhook. */
export async function sendTest(w: Webhook) {
	const id = `evt_test_${randomToken(10)}`;
	const payload = JSON.stringify({ id, type: 'webhook.test', ts: new Date().toISOString(), data: { webhook_id: w.id } });
	const row = await enqueue(w, { id, type: 'webhook.test', payload });
	return row;
}

const backoffMs = (attempts: number) => Math.min(60_000, 1000 * 2 ** Math.max(0, attempts - 1));
const LEASE_MS = 30_000;

/**
 * One delivery attempt: claims the row (so one replica sends it), POSTs the signed payload with a
 * 10 s timeout, and records the outcome; failures are retried with exponential backoff until the
 * webhook's max_attempts.
 */
async function attempt(deliveryId: string): Promise<void> {
	const now = new Date();
	const [d] = await db
		.update(webhookDelivery)
		.set({ nextAttemptAt: new Date(now.getTime() + LEASE_MS), attempts: sql`${webhookDelivery.attempts} + 1` })
		.where(and(eq(webhookDelivery.id, deliveryId), eq(webhookDelivery.status, 'pending'), lte(webhookDelivery.nextAttemptAt, now)))
		.returning();
	if (!d) return;
	const [w] = await db.select().from(webhook).where(eq(webhook.id, d.webhookId));
	if (!w) return;
	let status: number | null = null;
	let error: string | null = null;
	try {
		const secret = unseal(w.secretSealed);
		const res = await fetch(w.url, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'user-agent': 'Hangar-Webhooks/1',
				'miosa-signature': sign(secret, d.payload),
				'miosa-event-id': d.eventId,
				'miosa-event-type': d.eventType,
				'miosa-delivery-id': d.id,
				'miosa-delivery-attempt': String(d.attempts)
			},
			body: d.payload,
			redirect: 'manual',
			signal: AbortSignal.timeout(10_000)
		});
		status = res.status;
		await res.body?.cancel().catch(() => {});
		if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
	} catch (e) {
		error = e instanceof Error ? e.message : String(e);
	}
	if (!error) {
		await db.update(webhookDelivery).set({ status: 'succeeded', lastStatusCode: status, lastError: null, deliveredAt: new Date(), nextAttemptAt: null }).where(eq(webhookDelivery.id, d.id));
		return;
	}
	const exhausted = d.attempts >= w.maxAttempts;
	const next = exhausted ? null : new Date(Date.now() + backoffMs(d.attempts));
	await db
		.update(webhookDelivery)
		.set({ status: exhausted ? 'failed' : 'pending', lastStatusCode: status, lastError: error.slice(0, 500), nextAttemptAt: next })
		.where(eq(webhookDelivery.id, d.id));
	if (next) setTimeout(() => void attempt(d.id), next.getTime() - Date.now() + 5).unref();
}

// Active webhooks per organization, cached briefly: every event of every sandbox passes here.
const cache = new Map<string, { at: number; hooks: Promise<Webhook[]> }>();
function activeHooks(orgId: string): Promise<Webhook[]> {
	const hit = cache.get(orgId);
	if (hit && Date.now() - hit.at < 2000) return hit.hooks;
	const hooks = db.select().from(webhook).where(and(eq(webhook.organizationId, orgId), eq(webhook.active, true)));
	cache.set(orgId, { at: Date.now(), hooks });
	if (cache.size > 10_000) cache.clear();
	return hooks;
}
export const forgetHooks = (orgId: string) => cache.delete(orgId);

async function onEvent(e: HangarEvent) {
	const hooks = await activeHooks(e.organization_id);
	if (!hooks.length) return;
	const payload = JSON.stringify(eventFrame(e));
	for (const w of hooks) {
		if (!typeMatcher(w.events.join(','))(e.type)) continue;
		await enqueue(w, { id: String(e.id), type: e.type, payload });
	}
}

let unsubscribe: (() => void) | null = null;
let retryTimer: NodeJS.Timeout | null = null;
onStart(() => {
	unsubscribe = subscribe((e) => {
		onEvent(e).catch((err) => console.error('webhook fan-out failed', err));
	});
	// Deliveries whose retry time passed while no timer was armed (restart, other replica died).
	retryTimer = setInterval(async () => {
		const due = await db
			.select({ id: webhookDelivery.id })
			.from(webhookDelivery)
			.where(and(eq(webhookDelivery.status, 'pending'), lte(webhookDelivery.nextAttemptAt, new Date())))
			.limit(100)
			.catch(() => []);
		for (const d of due) void attempt(d.id);
	}, 5000);
	retryTimer.unref();
});
onStop(() => {
	unsubscribe?.();
	if (retryTimer) clearInterval(retryTimer);
});
