import { api } from '$lib/server/http/handler';
import { validationError } from '$lib/server/http/errors';
import { ok } from '$lib/server/http/respond';
import { diffVersions, getVersion } from '$lib/server/deployments/service';
import { loadVersion } from '$lib/server/deployments/route-helpers';

/**
 * GET /api/v1/deployments/{id}/versions/{version_id}/diff?against={other} — deployments:read.
 * What changed from `against` (default: the previous version) to this one: files (source snapshot,
 * by content hash), environment variable keys (values never shown; a change is detected by a keyed
 * digest) and build/runtime config.
 */
export const GET = api({ scope: 'deployments:read' }, async (ctx) => {
	const { dep, version } = await loadVersion(ctx);
	const against = ctx.url.searchParams.get('against') ?? ctx.url.searchParams.get('from');
	let base;
	if (against) base = await getVersion(dep, against);
	else if (version.versionNumber > 1) base = await getVersion(dep, String(version.versionNumber - 1));
	else throw validationError('version 1 has no previous version; pass ?against=', { against: ['required'] });
	return ok(await diffVersions(base, version));
});
