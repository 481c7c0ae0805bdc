import { publicApi } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { dbKind } from '$lib/server/db';
import { VERSION } from '$lib/server/env';
import { hostsOnline } from '$lib/server/hosts/service';

/**
 * GET /api/v1/health — public: status, version, database kind, hosts online.
 * `?require=host` answers 503 until at least one host agent is connected (for readiness probes).
 */
export const GET = publicApi(async ({ url }) => {
	const hosts = await hostsOnline();
	const ready = url.searchParams.get('require') !== 'host' || hosts > 0;
	return json(
		{ status: ready ? 'ok' : 'waiting_for_host', version: VERSION, database: dbKind, hosts_online: hosts, time: new Date().toISOString() },
		ready ? 200 : 503
	);
});
