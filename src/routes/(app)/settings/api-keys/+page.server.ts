import type { Actions, PageServerLoad } from './$types';
import { apiKeyCreateSchema, createApiKey, listApiKeys, revokeApiKey, toApiKeyDto } from '$lib/server/api-keys/service';
import { SCOPES } from '$lib/server/auth/scopes';
import { audit } from '$lib/server/audit/service';
import { isUuid } from '$lib/server/http/validate';
import { actorOf, failFrom, failure, invalid, pageOf, parseForm, requirePrincipal, text } from '../../dashboard.server';

/** Expiry choices of the create form, in days ('' = never). */
const EXPIRY_DAYS = ['', '7', '30', '90', '365'] as const;

export const load: PageServerLoad = async (event) => {
	const principal = requirePrincipal(event);
	const page = pageOf(event.url);
	const showRevoked = event.url.searchParams.get('revoked') === '1';
	const { rows, total } = await listApiKeys(principal.organizationId, page, showRevoked);
	return {
		keys: rows.map(toApiKeyDto),
		total,
		page: page.page,
		pageSize: page.pageSize,
		showRevoked,
		scopes: [...SCOPES]
	};
};

export const actions: Actions = {
	/** Mints a key; the plaintext is in this one answer only. */
	create: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const picked = data.getAll('scopes').map(String);
		const expires = text(data, 'expires_in_days') ?? '';
		const values = { name: text(data, 'name') ?? '', scopes: picked, expires_in_days: expires };
		const scopes = picked.includes('*') ? ['*'] : picked;
		const parsed = parseForm(apiKeyCreateSchema, {
			name: values.name,
			scopes: scopes.length ? scopes : undefined,
			expires_in_seconds: expires ? Number(expires) * 86_400 : undefined
		});
		const fieldErrors = parsed.ok ? {} : { ...parsed.fieldErrors };
		if (!scopes.length) fieldErrors.scopes = ['Choose at least one scope.'];
		if (!(EXPIRY_DAYS as readonly string[]).includes(expires)) fieldErrors.expires_in_days = ['Choose an expiry.'];
		if (!parsed.ok || Object.keys(fieldErrors).length) return invalid('create', fieldErrors, values);
		// A person acts with full scopes in their organization, so any scope may be granted.
		try {
			const { row, plaintext } = await createApiKey(principal.organizationId, principal.userId, parsed.data);
			await audit(actorOf(event), {
				action: 'api_key.created',
				category: 'security',
				resourceType: 'api_key',
				resourceId: row.id,
				metadata: { name: row.name, scopes: row.scopes }
			});
			return { form: 'create' as const, created: { ...toApiKeyDto(row), plaintext } };
		} catch (err) {
			return failFrom(err, 'create', values);
		}
	},

	/** Revokes at once: the next request with the key answers 401. */
	revoke: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const id = String(data.get('id') ?? '');
		if (!isUuid(id)) return failure(404, 'revoke', 'API key not found.', { id });
		try {
			const row = await revokeApiKey(principal.organizationId, id);
			await audit(actorOf(event), { action: 'api_key.revoked', category: 'security', resourceType: 'api_key', resourceId: row.id });
			return { form: 'revoke' as const, id };
		} catch (err) {
			return failFrom(err, 'revoke', { id });
		}
	}
};
