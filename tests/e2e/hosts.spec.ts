import { expect, test } from '@playwright/test';
import { screenshot, signUp, uniqueEmail } from './helpers';

test('hosts: the local host is online; register a host, see its key once, drain, undrain and revoke it', async ({ page }) => {
	await signUp(page, { email: uniqueEmail('hosts'), organization: 'Host Owners' });
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
	await expect(page.getByRole('heading', { name: 'Hosts', level: 1 })).toBeVisible();

	// The local agent started by the server (HANGAR_LOCAL_AGENT=1), shared with every organization.
	const local = page.getByRole('table', { name: 'Hosts' }).locator('tbody tr', { has: page.getByText('local', { exact: true }) }).first();
	await expect(local).toHaveAttribute('data-status', 'online', { timeout: 30_000 });
	await expect(local).toContainText('shared');
	await expect(local).toContainText('host-minimal');
	await expect(local).toContainText(/\d+ CPUs/);
	await expect(local).toContainText(/\d+ running/);

	// Register: labels are validated on the server.
	await page.getByRole('button', { name: 'Register host' }).click();
	const dialog = page.getByRole('dialog', { name: 'Register a host' });
	await dialog.getByLabel(/^Name/).fill('e2e-host');
	await dialog.getByLabel(/^Region/).fill('eu-test');
	await dialog.getByLabel(/^Labels/).fill('gpu=none, nonsense');
	await dialog.getByRole('button', { name: 'Register host' }).click();
	await expect(dialog.getByLabel(/^Labels/)).toHaveAttribute('aria-invalid', 'true');
	await expect(dialog.getByText('“nonsense” is not key=value.')).toBeVisible();
	await dialog.getByLabel(/^Labels/).fill('gpu=none, tier=e2e');
	await dialog.getByRole('button', { name: 'Register host' }).click();
	await expect(dialog).toBeHidden();

	const key = (await page.getByTestId('new-host-key').textContent())!.trim();
	expect(key).toMatch(/^hk_/);
	const command = (await page.getByTestId('host-agent-command').textContent())!.trim();
	const origin = new URL(page.url()).origin;
	expect(command).toBe(
		`HANGAR_URL=${origin} HANGAR_HOST_KEY=${key} HANGAR_HOST_NAME=e2e-host HANGAR_REGION=eu-test HANGAR_LABELS=gpu=none,tier=e2e node build/agent/agent.mjs`
	);
	const row = page.getByRole('row', { name: /e2e-host/ });
	await expect(row).toHaveAttribute('data-status', 'pending');
	await expect(row).toContainText('private');
	await expect(row).toContainText('eu-test');
	await expect(row).toContainText('gpu=none');
	await expect(row).toContainText('tier=e2e');
	await expect(row).toContainText(key.slice(0, 10));
	await screenshot(page, 'hosts-registered');

	// The key is shown once: not after a reload.
	await page.reload();
	await expect(page.getByTestId('new-host-key')).toHaveCount(0);
	await expect(page.getByText(key)).toHaveCount(0);

	// Drain and undrain.
	await row.getByRole('button', { name: 'Drain host e2e-host' }).click();
	await expect(row).toHaveAttribute('data-status', 'draining');
	await row.getByRole('button', { name: 'Undrain host e2e-host' }).click();
	await expect(row).toHaveAttribute('data-status', 'pending');

	// Revoke, confirmed.
	await row.getByRole('button', { name: 'Revoke host e2e-host' }).click();
	await page.getByRole('dialog', { name: 'Revoke e2e-host?' }).getByRole('button', { name: 'Revoke host' }).click();
	await expect(page.getByRole('row', { name: /e2e-host/ })).toHaveCount(0);
	await screenshot(page, 'hosts');

	await page.goto('/audit-log');
	for (const action of ['host.created', 'host.drained', 'host.undrained', 'host.revoked']) {
		await expect(page.getByText(action, { exact: true }).first()).toBeVisible();
	}
});
