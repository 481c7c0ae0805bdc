import type { ApiContext } from '../http/handler';
import { validationError } from '../http/errors';
import { getDeployment, getVersion } from './service';

const ID_RE = /^[A-Za-z0-9_-]{1,100}$/;

function param(ctx: ApiContext, name: string, what: string): string {
	const v = ctx.params[name];
	if (!v || !ID_RE.test(v)) throw validationError(`invalid ${what}`, { [name]: [`not a valid ${what}`] });
	return v;
}

/** The deployment named by `{id}` (its `dep_…` id or its slug) in the caller's organization. */
export const loadDeployment = (ctx: ApiContext) => getDeployment(ctx.principal.organizationId, param(ctx, 'id', 'deployment id'));

/** The version named by `{vid}` (`ver_…`, or its number: `3` / `v3`). */
export async function loadVersion(ctx: ApiContext) {
	const dep = await loadDeployment(ctx);
	return { dep, version: await getVersion(dep, param(ctx, 'vid', 'version id')) };
}

export const paramOf = param;
