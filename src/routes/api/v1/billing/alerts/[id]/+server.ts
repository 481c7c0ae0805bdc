import { api } from '$lib/server/http/handler';
import { parseId } from '$lib/server/http/validate';
import { requireAdmin } from '$lib/server/auth/principal';
import { deleteAlert } from '$lib/server/billing/alerts';

/** DELETE /api/v1/billing/alerts/{id} — owners/admins (keys: billing:write) → 204. */
export const DELETE = api({}, async ({ principal, params }) => {
	requireAdmin(principal, 'billing:write');
	await deleteAlert(principal.organizationId, parseId(params.id, 'alert id'));
	return new Response(null, { status: 204 });
});
