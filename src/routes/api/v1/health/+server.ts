import { publicApi } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { dbKind } from '$lib/server/db';
import { VERSION } from '$lib/server/env';
import { hostsOnline } from '$lib/server/hosts/service';

/** GET /api/v1/health — public: status, version, database kind, hosts online. */
export const GET = publicApi(async () =>
	json({ status: 'ok', version: VERSION, database: dbKind, hosts_online: await hostsOnline(), time: new Date().toISOString() })
);
