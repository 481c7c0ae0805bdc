// Form actions for webhooks, shared by /webhooks and /webhooks/[id].
import { redirect, type RequestEvent } from '@sveltejs/kit';
import { createWebhook, deleteWebhook, getWebhook, sendTest, toWebhookDto, updateWebhook, webhookCreateSchema } from '$lib/server/webhooks/service';
import { audit } from '$lib/server/audit/service';
import { actorOf, failFrom, failure, invalid, parseForm, requirePrincipal, text } from '../dashboard.server';

const idOf = (data: FormData) => String(data.get('id') ?? '');

/** Creates a webhook; its signing secret (sk_live_…) is in this answer only. */
export async function createWebhookAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const values = {
		url: text(data, 'url') ?? '',
		events: text(data, 'events') ?? '',
		max_retries: text(data, 'max_retries') ?? '',
		description: text(data, 'description') ?? ''
	};
	const events = values.events
		.split(',')
		.map((e) => e.trim())
		.filter(Boolean);
	const retries = values.max_retries.trim();
	if (retries && !/^\d+$/.test(retries)) return invalid('create', { max_retries: ['A whole number from 0 to 10.'] }, values);
	const parsed = parseForm(webhookCreateSchema, {
		url: values.url,
		events: events.length ? events : undefined,
		max_retries: retries ? Number(retries) : undefined,
		description: values.description || undefined
	});
	if (!parsed.ok) return invalid('create', parsed.fieldErrors, values);
	try {
		const { row, secret } = await createWebhook(principal.organizationId, parsed.data);
		await audit(actorOf(event), {
			action: 'webhook.created',
			category: 'security',
			resourceType: 'webhook',
			resourceId: row.id,
			metadata: { url: row.url, events: row.events }
		});
		return { form: 'create' as const, created: { ...toWebhookDto(row), secret } };
	} catch (err) {
		return failFrom(err, 'create', values);
	}
}

/** Enables or disables deliveries (`active` = "true" | "false"). */
export async function setActiveAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = idOf(data);
	const active = data.get('active') === 'true';
	try {
		const row = await updateWebhook(principal.organizationId, id, { active });
		await audit(actorOf(event), { action: 'webhook.updated', resourceType: 'webhook', resourceId: row.id, metadata: { active } });
		return { form: 'setActive' as const, id, active };
	} catch (err) {
		return failFrom(err, 'setActive', { id });
	}
}

/** Sends a signed `webhook.test` event; the delivery shows on the webhook's page. */
export async function sendTestAction(event: RequestEvent) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = idOf(data);
	try {
		const w = await getWebhook(principal.organizationId, id);
		const delivery = await sendTest(w);
		await audit(actorOf(event), { action: 'webhook.test_sent', resourceType: 'webhook', resourceId: w.id, metadata: { delivery_id: delivery?.id ?? null } });
		return { form: 'test' as const, id, deliveryId: delivery?.id ?? null };
	} catch (err) {
		return failFrom(err, 'test', { id });
	}
}

/** Deletes a webhook with its deliveries; `then` is where to go afterwards (none: stay). */
export async function deleteWebhookAction(event: RequestEvent, then?: string) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = idOf(data);
	if (!id) return failure(404, 'delete', 'Webhook not found.', { id });
	try {
		const w = await deleteWebhook(principal.organizationId, id);
		await audit(actorOf(event), { action: 'webhook.deleted', category: 'security', resourceType: 'webhook', resourceId: w.id, metadata: { url: w.url } });
	} catch (err) {
		return failFrom(err, 'delete', { id });
	}
	if (then) redirect(303, then);
	return { form: 'delete' as const, id };
}
