import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePg } from 'drizzle-orm/postgres-js';
import { migrate as migratePg } from 'drizzle-orm/postgres-js/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import postgres from 'postgres';
import { PGlite } from '@electric-sql/pglite';
import { env } from '../env';
import * as schema from './schema';

export type Db = ReturnType<typeof drizzlePg<typeof schema>>;
export type DbKind = 'postgres' | 'pglite';

export let db: Db;
export let dbKind: DbKind;
/** Raw postgres client (LISTEN/NOTIFY); null on PGlite. */
export let pgClient: postgres.Sql | null = null;
let pglite: PGlite | null = null;
let ready: Promise<void> | null = null;

function migrationsFolder(): string {
	// drizzle/ sits at the repo root both in dev (src/…) and in production (build/…).
	const candidates = [path.resolve('drizzle'), path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle')];
	const found = candidates.find((p) => fs.existsSync(path.join(p, 'meta/_journal.json')));
	if (!found) throw new Error(`migrations folder not found (looked in ${candidates.join(', ')})`);
	return found;
}

/** Opens the database and applies pending migrations once per process. */
export function initDb(): Promise<void> {
	ready ??= (async () => {
		const folder = migrationsFolder();
		if (env.DATABASE_URL) {
			pgClient = postgres(env.DATABASE_URL, { max: 20, onnotice: () => {} });
			db = drizzlePg(pgClient, { schema, casing: 'snake_case' });
			dbKind = 'postgres';
			// Several replicas may boot at once: one migrates, the others wait on the lock.
			const lock = await pgClient.reserve();
			try {
				await lock`select pg_advisory_lock(7261001)`;
				await migratePg(db, { migrationsFolder: folder });
			} finally {
				await lock`select pg_advisory_unlock(7261001)`;
				lock.release();
			}
		} else {
			const dir = path.join(env.dataDir, 'pglite');
			fs.mkdirSync(dir, { recursive: true });
			pglite = new PGlite(dir);
			const d = drizzlePglite(pglite, { schema, casing: 'snake_case' });
			db = d as unknown as Db;
			dbKind = 'pglite';
			await migratePglite(d, { migrationsFolder: folder });
		}
	})();
	return ready;
}

export async function closeDb(): Promise<void> {
	if (pgClient) await pgClient.end({ timeout: 2 });
	if (pglite) await pglite.close();
}

export { schema };

/** A unique constraint refused the write (Postgres 23505; drizzle wraps the driver's error in `cause`). */
export function isUniqueViolation(e: unknown): boolean {
	const err = e as { code?: string; cause?: { code?: string } };
	return err?.code === '23505' || err?.cause?.code === '23505';
}
