import { count, eq } from 'drizzle-orm';
import { db } from '../db';
import { host } from '../db/schema';

/** Number of hosts whose agent is connected. */
export async function hostsOnline(): Promise<number> {
	const [{ n }] = await db.select({ n: count() }).from(host).where(eq(host.status, 'online'));
	return n;
}
