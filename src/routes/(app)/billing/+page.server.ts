import type { Actions, PageServerLoad } from './$types';
import { z } from 'zod';
import { balanceDto, listTransactions, toTransactionDto, CREDIT_KINDS } from '$lib/server/billing/ledger';
import { burnRate, rollup, usageTotals, type GroupKey } from '$lib/server/billing/usage';
import { resolvePeriod, type PeriodName } from '$lib/server/billing/math';
import { alertCreateSchema, createAlert, deleteAlert, listAlerts, toAlertDto } from '$lib/server/billing/alerts';
import { checkBudgetAlerts } from '$lib/server/billing/meter';
import { addCredits, grantSchema } from '$lib/server/billing/credits';
import { priceForSize } from '$lib/server/billing/prices';
import { sizeNames } from '$lib/server/sandboxes/schemas';
import { isUuid } from '$lib/server/http/validate';
import { audit } from '$lib/server/audit/service';
import { actorOf, failFrom, failure, invalid, isAdmin, pageOf, parseForm, requirePrincipal, text } from '../dashboard.server';

const PERIODS = [
	{ value: '7d', label: 'Last 7 days' },
	{ value: '30d', label: 'Last 30 days' },
	{ value: 'mtd', label: 'Month to date' }
] as const;
const STACKS = [
	{ value: 'resource_type', label: 'Resource type' },
	{ value: 'workspace', label: 'Workspace' },
	{ value: 'project', label: 'Project' }
] as const;

/** YYYY-MM-DD → the start of that day (UTC); `end` → the start of the next day. */
function dayParam(v: string | null, end = false): Date | undefined {
	if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) return undefined;
	return new Date(Date.parse(v) + (end ? 86_400_000 : 0));
}

function daysOf(from: Date, to: Date): string[] {
	const out: string[] = [];
	for (let t = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()); t < to.getTime(); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
	return out;
}

export const load: PageServerLoad = async (event) => {
	const principal = requirePrincipal(event);
	const org = principal.organizationId;
	const q = event.url.searchParams;
	const period = (PERIODS.find((p) => p.value === q.get('period'))?.value ?? '30d') as PeriodName;
	const stack = (STACKS.find((s) => s.value === q.get('stack'))?.value ?? 'resource_type') as GroupKey;
	const now = new Date();
	const { from, to } = resolvePeriod(period, now);

	const kind = (CREDIT_KINDS as readonly string[]).includes(q.get('kind') ?? '') ? (q.get('kind') as string) : '';
	const txFrom = q.get('from') ?? '';
	const txTo = q.get('to') ?? '';
	const page = pageOf(event.url, 20);

	const [balance, burn, byDay, byWorkspace, byProject, byType, byUser, byExtWorkspace, totals, txns, alerts] = await Promise.all([
		balanceDto(org),
		burnRate(org, now),
		rollup(org, ['day', stack], from, to),
		rollup(org, ['workspace'], from, to),
		rollup(org, ['project'], from, to),
		rollup(org, ['resource_type'], from, to),
		rollup(org, ['external_user_id'], from, to, { limit: 11 }),
		rollup(org, ['external_workspace_id'], from, to, { limit: 11 }),
		usageTotals(org, from, to),
		listTransactions(org, page, { kinds: kind ? [kind] : undefined, from: dayParam(txFrom), to: dayParam(txTo, true) }),
		listAlerts(org).then((rows) => Promise.all(rows.map((a) => toAlertDto(a, now))))
	]);

	// Usage by day, stacked: one series per group, zero-filled over the period's days.
	const stackKey = stack === 'workspace' ? 'workspace_id' : stack === 'project' ? 'project_id' : 'resource_type';
	const nameOf = (r: Record<string, unknown>) =>
		String((stack === 'workspace' ? r.workspace_name : stack === 'project' ? r.project_name : null) ?? r[stackKey] ?? 'unattributed');
	const days = daysOf(from, to);
	const groups = new Map<string, number[]>();
	for (const r of byDay) {
		const name = nameOf(r);
		const arr = groups.get(name) ?? days.map(() => 0);
		const i = days.indexOf(String(r.day));
		if (i >= 0) arr[i] += r.credits;
		groups.set(name, arr);
	}

	return {
		period,
		periods: PERIODS.map((p) => ({ ...p })),
		stack,
		stacks: STACKS.map((s) => ({ ...s })),
		periodStart: from.toISOString(),
		periodEnd: to.toISOString(),
		balance,
		burn,
		totals,
		daily: { labels: days, series: [...groups.entries()].map(([label, data]) => ({ label, data })) },
		byWorkspace: byWorkspace.map((r) => ({ label: String(r.workspace_name ?? r.workspace_id ?? 'unattributed'), credits: r.credits })),
		byProject: byProject.map((r) => ({ label: String(r.project_name ?? r.project_id ?? 'unattributed'), credits: r.credits })),
		byType: byType.map((r) => ({ label: String(r.resource_type), credits: r.credits, vcpuHours: r.vcpu_seconds / 3600 })),
		topUsers: byUser.filter((r) => r.external_user_id).slice(0, 10).map((r) => ({ id: String(r.external_user_id), credits: r.credits, vcpuHours: r.vcpu_seconds / 3600, sandboxHours: r.sandbox_seconds / 3600 })),
		topCustomers: byExtWorkspace.filter((r) => r.external_workspace_id).slice(0, 10).map((r) => ({ id: String(r.external_workspace_id), credits: r.credits, vcpuHours: r.vcpu_seconds / 3600, sandboxHours: r.sandbox_seconds / 3600 })),
		transactions: txns.rows.map(toTransactionDto),
		txTotal: txns.total,
		txPage: page.page,
		txPageSize: page.pageSize,
		txFilter: { kind, from: txFrom, to: txTo },
		kinds: [...CREDIT_KINDS],
		alerts,
		prices: sizeNames.map((s) => priceForSize(s)),
		canAddCredits: principal.isInstanceAdmin || principal.role === 'owner',
		isInstanceAdmin: principal.isInstanceAdmin,
		canManageAlerts: isAdmin(principal)
	};
};

const creditForm = z.object({
	kind: z.enum(['grant', 'purchase', 'adjustment']),
	amount: z.coerce.number().refine((n) => Number.isFinite(n) && n !== 0, 'Enter an amount other than zero.'),
	description: z.string().trim().max(500).optional(),
	organization_id: z.string().uuid('Enter an organization id (a UUID).').optional()
});

export const actions: Actions = {
	/** Owners record purchases; instance administrators grant, purchase or adjust for any organization. */
	addCredits: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const values = { kind: text(data, 'kind') ?? 'purchase', amount: text(data, 'amount') ?? '', description: text(data, 'description') ?? '', organization_id: text(data, 'organization_id') ?? '' };
		const parsed = parseForm(creditForm, { ...values, description: values.description || undefined, organization_id: values.organization_id || undefined });
		if (!parsed.ok) return invalid('addCredits', parsed.fieldErrors, values);
		const input = parseForm(grantSchema, { ...parsed.data });
		if (!input.ok) return invalid('addCredits', input.fieldErrors, values);
		try {
			const r = await addCredits({ ...actorOf(event), principal }, input.data);
			return { form: 'addCredits' as const, added: toTransactionDto(r.txn) };
		} catch (err) {
			return failFrom(err, 'addCredits', values);
		}
	},

	createAlert: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const values = { name: text(data, 'name') ?? '', threshold: text(data, 'threshold') ?? '', period: text(data, 'period') ?? 'month' };
		if (!isAdmin(principal)) return failure(403, 'createAlert', 'Only organization owners and admins can manage budget alerts.', values);
		const parsed = parseForm(alertCreateSchema.extend({ threshold: z.coerce.number().positive('Enter a threshold above zero.').max(1e9) }), values);
		if (!parsed.ok) return invalid('createAlert', parsed.fieldErrors, values);
		const row = await createAlert(principal.organizationId, parsed.data);
		await audit(actorOf(event), { action: 'budget_alert.created', resourceType: 'budget_alert', resourceId: row.id, metadata: { threshold: parsed.data.threshold, period: parsed.data.period } });
		await checkBudgetAlerts(new Date(), [principal.organizationId]);
		return { form: 'createAlert' as const, id: row.id };
	},

	deleteAlert: async (event) => {
		const principal = requirePrincipal(event);
		const data = await event.request.formData();
		const id = String(data.get('id') ?? '');
		if (!isAdmin(principal)) return failure(403, 'deleteAlert', 'Only organization owners and admins can manage budget alerts.', { id });
		if (!isUuid(id)) return failure(404, 'deleteAlert', 'Budget alert not found.', { id });
		try {
			await deleteAlert(principal.organizationId, id);
			await audit(actorOf(event), { action: 'budget_alert.deleted', resourceType: 'budget_alert', resourceId: id });
			return { form: 'deleteAlert' as const, id };
		} catch (err) {
			return failFrom(err, 'deleteAlert', { id });
		}
	}
};
