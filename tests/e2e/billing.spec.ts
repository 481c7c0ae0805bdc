import fs from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { appReady, screenshot, signUp, uniqueEmail } from './helpers';

/** Calls the API from the page with the dashboard session (same-origin fetch). */
async function api(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
	return page.evaluate(
		async ([m, p, b]) => {
			const r = await fetch(`/api/v1${p}`, { method: m as string, headers: b ? { 'content-type': 'application/json' } : {}, body: b ? JSON.stringify(b) : undefined });
			return { status: r.status, body: await r.json().catch(() => null) };
		},
		[method, path, body] as const
	);
}

test('billing: balance, a usage chart once the meter ran, budget alerts, a purchase and the CSV export', async ({ page }) => {
	test.setTimeout(180_000);
	await signUp(page, { email: uniqueEmail('billing'), organization: 'Billing Lab' });

	// Some usage: an xs sandbox for a few seconds.
	const created = await api(page, 'POST', '/sandboxes', { template_id: 'host-minimal', size: 'xs', timeout_sec: 600 });
	expect(created.status).toBe(201);
	const id = created.body.data.id as string;
	await expect
		.poll(async () => (await api(page, 'GET', `/sandboxes/${id}`)).body.data.state, { timeout: 120_000, intervals: [500] })
		.toBe('running');
	await page.waitForTimeout(3000);
	expect((await api(page, 'DELETE', `/sandboxes/${id}`)).status).toBe(200);

	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
	await expect(page).toHaveURL(/\/billing$/);
	await appReady(page);
	await expect(page.getByRole('heading', { name: 'Billing', level: 1 })).toBeVisible();
	await expect(page.getByTestId('credit-balance')).toContainText('credits');

	// The meter turns the sandbox's time into usage: the daily chart shows it (reload until it has).
	await expect
		.poll(
			async () => {
				await page.reload();
				return Number(await page.getByTestId('chart-daily').getAttribute('data-total'));
			},
			{ timeout: 60_000, intervals: [2000] }
		)
		.toBeGreaterThan(0);
	await appReady(page);
	const today = new Date().toISOString().slice(0, 10);
	const daily = page.getByTestId('chart-daily');
	await expect(daily.getByRole('img', { name: /Credits by day/ })).toBeVisible();
	await expect(daily.locator('table')).toContainText(today);
	await expect(daily.locator('table')).toContainText('sandbox');
	await expect(page.getByTestId('chart-type').locator('table')).toContainText('sandbox');
	await expect(page.getByTestId('chart-workspace').locator('table')).toContainText('Default');
	// The canvas was drawn (Chart.js sized it).
	expect(await daily.locator('canvas').evaluate((c: HTMLCanvasElement) => c.width > 0 && c.height > 0)).toBe(true);
	const usage = await api(page, 'GET', '/credits/usage');
	expect(usage.body.total_credits).toBeGreaterThan(0);

	// The balance on the page is the API's.
	const bal = (await api(page, 'GET', '/credits/balance')).body;
	expect(bal.balance).toBeLessThan(100);
	await expect(page.getByTestId('credit-balance')).toContainText(bal.balance.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 }));

	// Owners record purchases (the instance's first account, an administrator, adds credits of any kind).
	await page.getByRole('button', { name: /^(Record purchase|Add credits)$/ }).click();
	const dialog = page.getByRole('dialog', { name: /^(Record a purchase|Add credits)$/ });
	if (await dialog.getByLabel('Kind').count()) await dialog.getByLabel('Kind').selectOption('purchase');
	await dialog.getByLabel('Credits').fill('25');
	await dialog.getByLabel(/^Description/).fill('e2e purchase 42');
	await dialog.getByRole('button', { name: /^(Record purchase|Add credits)$/ }).click();
	await expect(page.getByText('Credits recorded')).toBeVisible();
	const after = (await api(page, 'GET', '/credits/balance')).body;
	expect(after.balance_micro).toBe(bal.balance_micro + 25_000_000);
	await expect(page.getByRole('table', { name: 'Credit transactions' })).toContainText('e2e purchase 42');

	// A budget alert, already exceeded by today's usage.
	const form = page.locator('form[action="?/createAlert"]');
	await form.getByLabel('Alert name').fill('Tiny daily');
	await form.getByLabel(/^Threshold/).fill('0.0001');
	await form.getByLabel('Period').selectOption('day');
	await form.getByRole('button', { name: 'Add alert' }).click();
	const alerts = page.getByRole('list', { name: 'Budget alerts' });
	await expect(alerts).toContainText('Tiny daily');
	await expect(alerts).toContainText('exceeded');

	await screenshot(page, 'billing');
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.waitForTimeout(300);
	await screenshot(page, 'billing-dark');
	await page.emulateMedia({ colorScheme: 'light' });

	// CSV export: the test's transactions.
	const downloading = page.waitForEvent('download');
	await page.getByRole('link', { name: 'Export CSV' }).click();
	const download = await downloading;
	const csv = fs.readFileSync((await download.path())!, 'utf8');
	const lines = csv.trim().split('\n');
	expect(lines[0]).toBe('id,created_at,kind,type,amount_credits,balance_after_credits,description,reference,expires_at,created_by');
	expect(csv).toContain('starting_grant');
	expect(csv).toMatch(/,purchase,credit,25\.000000,.*e2e purchase 42/);
	expect(csv).toMatch(/,spend,debit,-0\.\d+,/);

	// Deleting the alert.
	await alerts.getByRole('button', { name: 'Delete budget alert Tiny daily' }).click();
	await page.getByRole('dialog', { name: 'Delete alert Tiny daily?' }).getByRole('button', { name: 'Delete alert' }).click();
	await expect(page.getByText('No budget alerts yet.')).toBeVisible();
});
