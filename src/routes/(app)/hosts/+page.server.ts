import type { Actions, PageServerLoad, RequestEvent } from './$types';
import { createHost, getHost, hostCreateSchema, revokeHost, setDraining, toHostDto, visibleHosts } from '$lib/server/hosts/service';
import { hub, isConnected } from '$lib/server/hosts/connections';
import { requireAdmin } from '$lib/server/auth/principal';
import { audit } from '$lib/server/audit/service';
import { ApiError } from '$lib/server/http/errors';
import { isUuid } from '$lib/server/http/validate';
import { actorOf, failFrom, failure, invalid, isAdmin, parseForm, requirePrincipal, text, type FieldErrors } from '../dashboard.server';

export const load: PageServerLoad = async (event) => {
	event.depends('app:hosts');
	const principal = requirePrincipal(event);
	const rows = await visibleHosts(principal.organizationId);
	const admin = isAdmin(principal);
	return {
		hosts: rows.map((h) => {
			const dto = toHostDto(h, isConnected(h.id));
			return { ...dto, manageable: admin && (!dto.shared || principal.isInstanceAdmin) };
		}),
		canRegister: admin,
		isInstanceAdmin: principal.isInstanceAdmin,
		now: Date.now()
	};
};

/** "gpu=a100, zone = b" → {gpu: 'a100', zone: 'b'}; a part without "key=" is an error. */
function parseLabels(raw: string): { labels: Record<string, string> } | { error: string } {
	const labels: Record<string, string> = {};
	for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
		const i = part.indexOf('=');
		const key = i > 0 ? part.slice(0, i).trim() : '';
		if (!key) return { error: `“${part}” is not key=value.` };
		if (!/^[A-Za-z0-9_.\-/]{1,63}$/.test(key)) return { error: `Label names are letters, digits, “_ . - /” (got “${key}”).` };
		labels[key] = part.slice(i + 1).trim();
	}
	return { labels };
}

/** Quotes a value for a POSIX shell when it needs it. */
const sh = (v: string) => (/^[A-Za-z0-9_\-./:=@,+]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/** The host the action names, if this person may manage it; shared hosts are the instance admins'. */
async function manageableHost(event: RequestEvent, form: string) {
	const principal = requirePrincipal(event);
	const data = await event.request.formData();
	const id = String(data.get('id') ?? '');
	if (!isUuid(id)) return { fail: failure(404, form, 'Host not found.', { id }) };
	try {
		requireAdmin(principal, 'hosts:write');
		const host = await getHost(principal.organizationId, id.toLowerCase());
		if (host.organizationId === null && !principal.isInstanceAdmin) {
			throw new ApiError(403, 'FORBIDDEN', 'only instance administrators manage shared hosts');
		}
		return { host, principal };
	} catch (err) {
		return { fail: failFrom(err, form, { id }) };
	}
}

export const actions: Actions = {
	/** Registers a host; its key (hk_…) and the agent's command are in this answer only. */
	register: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const values = {
			name: text(data, 'name') ?? '',
			region: text(data, 'region') ?? '',
			labels: text(data, 'labels') ?? '',
			shared: data.get('shared') === 'on'
		};
		const labels = parseLabels(values.labels);
		const parsed = parseForm(hostCreateSchema, {
			name: values.name,
			region: values.region || undefined,
			labels: 'labels' in labels ? labels.labels : undefined
		});
		const fieldErrors: FieldErrors = parsed.ok ? {} : { ...parsed.fieldErrors };
		if ('error' in labels) fieldErrors.labels = [labels.error];
		if (!parsed.ok || Object.keys(fieldErrors).length) return invalid('register', fieldErrors, values);
		try {
			requireAdmin(principal, 'hosts:write');
			const shared = values.shared && principal.isInstanceAdmin;
			const { row, key } = await createHost({ ...parsed.data, organizationId: shared ? null : principal.organizationId });
			await audit(actorOf(event), {
				action: 'host.created',
				category: 'security',
				resourceType: 'host',
				resourceId: row.id,
				metadata: { name: row.name, region: row.region, shared }
			});
			const labelText = Object.entries(row.labels)
				.map(([k, v]) => `${k}=${v}`)
				.join(',');
			const command = [
				`HANGAR_URL=${sh(event.url.origin)}`,
				`HANGAR_HOST_KEY=${key}`,
				`HANGAR_HOST_NAME=${sh(row.name)}`,
				`HANGAR_REGION=${sh(row.region)}`,
				...(labelText ? [`HANGAR_LABELS=${sh(labelText)}`] : []),
				'node build/agent/agent.mjs'
			].join(' ');
			return { form: 'register' as const, created: { id: row.id, name: row.name, key, command } };
		} catch (err) {
			return failFrom(err, 'register', values);
		}
	},

	/** No new sandboxes are placed on a draining host; running ones keep running. */
	drain: async (event) => {
		const r = await manageableHost(event, 'drain');
		if ('fail' in r) return r.fail;
		await setDraining(r.host.id, true);
		await audit(actorOf(event, r.principal), { action: 'host.drained', resourceType: 'host', resourceId: r.host.id });
		return { form: 'drain' as const, id: r.host.id };
	},

	undrain: async (event) => {
		const r = await manageableHost(event, 'undrain');
		if ('fail' in r) return r.fail;
		await setDraining(r.host.id, false);
		await audit(actorOf(event, r.principal), { action: 'host.undrained', resourceType: 'host', resourceId: r.host.id });
		return { form: 'undrain' as const, id: r.host.id };
	},

	/** Revokes the host's key and drops its agent's connection: it can no longer connect. */
	revoke: async (event) => {
		const r = await manageableHost(event, 'revoke');
		if ('fail' in r) return r.fail;
		await revokeHost(r.host.id);
		hub.disconnect(r.host.id, 'host key revoked');
		await audit(actorOf(event, r.principal), { action: 'host.revoked', category: 'security', resourceType: 'host', resourceId: r.host.id });
		return { form: 'revoke' as const, id: r.host.id };
	}
};
