// Budget alerts: a spend threshold per day or month; the meter emits `billing.budget_exceeded`
// once per period when the organization's metered spend in it reaches the threshold.
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { db } from '../db';
import { budgetAlert, type BudgetAlert } from '../db/schema';
import { notFound } from '../http/errors';
import { alertPeriod, toCredits, toMicro } from './math';
import { spentSince } from './meter';

export const alertCreateSchema = z.object({
	name: z.string().trim().min(1).max(100),
	/** Threshold in credits. */
	threshold: z.number().positive().max(1e9),
	period: z.enum(['day', 'month']).default('month')
});

export async function listAlerts(organizationId: string): Promise<BudgetAlert[]> {
	return db.select().from(budgetAlert).where(eq(budgetAlert.organizationId, organizationId)).orderBy(asc(budgetAlert.createdAt));
}

export async function createAlert(organizationId: string, input: z.infer<typeof alertCreateSchema>): Promise<BudgetAlert> {
	const [row] = await db
		.insert(budgetAlert)
		.values({ organizationId, name: input.name, thresholdMicro: toMicro(input.threshold), period: input.period })
		.returning();
	return row;
}

export async function deleteAlert(organizationId: string, id: string): Promise<void> {
	const rows = await db.delete(budgetAlert).where(and(eq(budgetAlert.organizationId, organizationId), eq(budgetAlert.id, id))).returning({ id: budgetAlert.id });
	if (!rows.length) throw notFound('budget alert');
}

export async function toAlertDto(a: BudgetAlert, now = new Date()) {
	const p = alertPeriod(a.period === 'day' ? 'day' : 'month', now);
	const spent = await spentSince(a.organizationId, p.start);
	return {
		id: a.id,
		name: a.name,
		period: a.period,
		threshold: toCredits(a.thresholdMicro),
		threshold_micro: a.thresholdMicro,
		current_period: p.key,
		spent: toCredits(spent),
		spent_micro: spent,
		triggered: a.lastTriggeredPeriod === p.key,
		last_triggered_period: a.lastTriggeredPeriod,
		created_at: a.createdAt.toISOString()
	};
}
