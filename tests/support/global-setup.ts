import type { TestProject } from 'vitest/node';
import { startServer } from './server';

declare module 'vitest' {
	export interface ProvidedContext {
		baseUrl: string;
		dbKind: string;
		databaseUrl: string;
		serverPid: number;
		dataDir: string;
	}
}

/** One server per integration run, on the database HANGAR_TEST_DB names (pglite | postgres). */
export default async function setup(project: TestProject) {
	const dbKind = (process.env.HANGAR_TEST_DB ?? 'pglite') as 'pglite' | 'postgres';
	const server = await startServer({ db: dbKind, waitForHost: process.env.HANGAR_TEST_NO_HOST !== '1' });
	project.provide('baseUrl', server.baseUrl);
	project.provide('dbKind', dbKind);
	project.provide('databaseUrl', server.databaseUrl ?? '');
	project.provide('serverPid', server.proc.pid!);
	project.provide('dataDir', server.dataDir);
	console.log(`[integration] server on ${server.baseUrl} (${dbKind})`);
	return async () => {
		const logs = server.logs();
		await server.stop();
		if (process.env.HANGAR_TEST_SERVER_LOGS === '1') console.log(logs);
	};
}
