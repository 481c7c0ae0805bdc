import { expect, test, type Page } from '@playwright/test';
import { appReady, screenshot, signUp, uniqueEmail } from './helpers';

/** A JSON API call with the page's session cookie (same-origin, as the dashboard does). */
async function api(page: Page, method: string, path: string, data?: unknown) {
	const origin = new URL(page.url()).origin;
	const r = await page.request.fetch(`${origin}/api/v1${path}`, { method, data, headers: { origin, 'content-type': 'application/json' } });
	expect(r.ok(), await r.text()).toBe(true);
	return (await r.json()) as any;
}

/** Writes the one-page static site into the sandbox's /workspace. */
async function writeSite(page: Page, sandboxId: string, word: string) {
	const html = `<!doctype html><title>E2E site</title><h1 id="v">${word}</h1>\n`;
	const out = await api(page, 'POST', `/sandboxes/${sandboxId}/exec`, { command: 'cat > /workspace/index.html', stdin: html });
	expect(out.exit_code).toBe(0);
}

/** The site's heading, read fresh (no cache) in the given tab. */
async function siteSays(tab: Page, url: string, word: string) {
	await expect
		.poll(
			async () => {
				await tab.goto(url, { waitUntil: 'domcontentloaded' });
				return (await tab.locator('#v').textContent().catch(() => null))?.trim();
			},
			{ timeout: 20_000 }
		)
		.toBe(word);
}

test('deploy a sandbox from the dashboard, publish again, compare, and roll back', async ({ page }) => {
	test.setTimeout(240_000);
	await signUp(page, { email: uniqueEmail('deploy'), organization: 'Deploy Lab' });

	// The list starts empty and says how to publish.
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deployments' }).click();
	await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible();
	await expect(page.getByText('No deployments yet')).toBeVisible();

	// An empty deployment can be created from the list (nothing served until a publish) and deleted.
	await page.getByRole('button', { name: 'New deployment' }).click();
	const create = page.getByRole('dialog', { name: 'New deployment' });
	await create.getByLabel('Name').fill('Empty Site');
	await create.getByRole('button', { name: 'Create deployment' }).click();
	await expect(page).toHaveURL(/\/deployments\/dep_[A-Za-z0-9]+$/);
	await expect(page.getByRole('heading', { name: 'Empty Site', level: 1 })).toBeVisible();
	await expect(page.getByTestId('deployment-state')).toHaveAttribute('data-state', 'pending');
	await expect(page.getByText('Nothing published yet')).toBeVisible();
	await page.getByRole('button', { name: 'Delete' }).click();
	await page.getByRole('dialog', { name: 'Delete Empty Site?' }).getByRole('button', { name: 'Delete deployment' }).click();
	await expect(page).toHaveURL(/\/deployments$/);
	await expect(page.getByText('No deployments yet')).toBeVisible();

	const sb = (await api(page, 'POST', '/sandboxes', { template_id: 'host-minimal', name: 'site-box', timeout_sec: 900 })).data;
	await writeSite(page, sb.id, 'one');

	// Deploy from the sandbox's page.
	await page.goto(`/sandboxes/${sb.id}`);
	await appReady(page);
	await expect(page.getByTestId('sandbox-state')).toHaveAttribute('data-state', 'running', { timeout: 30_000 });
	await page.getByTestId('deploy-button').click();
	const dialog = page.getByRole('dialog', { name: 'Deploy this sandbox' });
	await expect(dialog.getByLabel('Deployment name')).toHaveValue('site-box');
	await dialog.getByLabel('Deployment name').fill('e2e-site');
	await dialog.getByLabel('Kind').selectOption('static');
	// A build step that takes a few seconds, so the log is seen live while the version builds.
	await dialog.getByLabel(/^Build command/).fill('echo compiling the site; sleep 4; echo compiled');
	await screenshot(page, 'deploy-dialog');
	await dialog.getByRole('button', { name: 'Deploy' }).click();
	await expect(page).toHaveURL(/\/deployments\/dep_[A-Za-z0-9]+\?log=ver_[A-Za-z0-9]+$/, { timeout: 30_000 });
	await appReady(page);
	await expect(page.getByRole('heading', { name: 'e2e-site', level: 1 })).toBeVisible();

	// The build log of the new version opens by itself and the version becomes ready and active.
	const v1 = page.locator('[data-testid="version"][data-version-number="1"]');
	await expect(v1).toBeVisible();
	const log = v1.getByTestId('build-log');
	await expect(log).toBeVisible();
	await expect(log).toContainText('compiling the site', { timeout: 60_000 });
	await expect(log).toHaveAttribute('data-status', 'connected');
	await expect(v1).toHaveAttribute('data-state', 'building');
	await expect(v1).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
	await expect(log).toContainText('compiled');
	await expect(log).toHaveAttribute('data-status', 'closed');
	await expect(v1.getByTestId('active-marker')).toBeVisible({ timeout: 20_000 });
	await expect(page.getByTestId('deployment-state')).toHaveAttribute('data-state', 'running');
	await screenshot(page, 'deployment-v1');

	// The site answers at its own URL with the first version.
	const url = (await page.getByTestId('deployment-url').getAttribute('href'))!;
	expect(url).toMatch(/^http:\/\/e2e-site\.[a-z0-9-]+\.apps\.localhost:\d+\/$/);
	const tab = await page.context().newPage();
	await siteSays(tab, url, 'one');
	await screenshot(tab, 'deployment-site-one');

	// Change the site and publish again from the deployment's page.
	await writeSite(page, sb.id, 'two');
	await page.bringToFront();
	await page.getByTestId('publish-button').click();
	const publish = page.getByRole('dialog', { name: 'Publish e2e-site' });
	await expect(publish.getByLabel('Source sandbox')).toHaveValue(sb.id);
	await publish.getByRole('button', { name: 'Publish' }).click();
	await expect(publish).toBeHidden();
	const v2 = page.locator('[data-testid="version"][data-version-number="2"]');
	await expect(v2).toBeVisible({ timeout: 15_000 });
	await expect(v2.getByTestId('build-log')).toBeVisible();
	await expect(v2).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
	await expect(v2.getByTestId('active-marker')).toBeVisible({ timeout: 20_000 });
	await expect(v1.getByTestId('active-marker')).toHaveCount(0);
	await siteSays(tab, url, 'two');

	// What changed between the two: the page's file.
	await page.bringToFront();
	await v2.getByRole('button', { name: 'Diff' }).click();
	const diff = page.getByTestId('diff-result');
	await expect(diff).toHaveAttribute('data-from', '1');
	await expect(diff).toHaveAttribute('data-to', '2');
	await expect(diff.getByTestId('diff-files').locator('[data-change="changed"]')).toContainText('index.html');
	await screenshot(page, 'deployment-history');

	// Roll back to v1, confirmed in a dialog; the site serves "one" again.
	await v1.getByRole('button', { name: 'Roll back to this version' }).click();
	const confirm = page.getByRole('dialog', { name: 'Roll back to v1?' });
	await expect(confirm).toBeVisible();
	await screenshot(page, 'deployment-rollback-confirm');
	await confirm.getByRole('button', { name: 'Roll back' }).click();
	await expect(confirm).toBeHidden();
	await expect(v1.getByTestId('active-marker')).toBeVisible();
	await expect(v2.getByTestId('active-marker')).toHaveCount(0);
	await expect(page.getByTestId('environments').locator('[data-environment="production"]')).toHaveAttribute('data-active-version', '1');
	await siteSays(tab, url, 'one');
	await screenshot(tab, 'deployment-site-rolled-back');

	// A build that fails becomes a failed version with its error; it cannot be promoted and the
	// site keeps serving v1.
	await page.getByTestId('publish-button').click();
	await publish.getByLabel(/^Build command/).fill('echo building; exit 3');
	await publish.getByRole('button', { name: 'Publish' }).click();
	await expect(publish).toBeHidden();
	const v3 = page.locator('[data-testid="version"][data-version-number="3"]');
	await expect(v3).toHaveAttribute('data-state', 'failed', { timeout: 90_000 });
	await expect(v3.getByTestId('version-error')).toBeVisible();
	await expect(v3.getByTestId('build-log')).toContainText('building');
	await expect(v3.getByRole('button', { name: /Promote|Roll back/ })).toHaveCount(0);
	await expect(v1.getByTestId('active-marker')).toBeVisible();
	await siteSays(tab, url, 'one');
	await page.bringToFront();
	await screenshot(page, 'deployment-failed-build');

	// Environment variables: a plain one and a secret (never shown), then delete one.
	const env = page.getByTestId('env-vars');
	await env.getByLabel('Key').fill('GREETING');
	await env.getByLabel('Value').fill('hello');
	await env.getByRole('button', { name: 'Save variable' }).click();
	await expect(env.locator('tr[data-env-key="GREETING"]')).toBeVisible();
	await env.getByLabel('Key').fill('API_TOKEN');
	await env.getByLabel('Value').fill('s3cret-value');
	await env.getByLabel('Secret').check();
	await env.getByRole('button', { name: 'Save variable' }).click();
	const secretRow = env.locator('tr[data-env-key="API_TOKEN"]');
	await expect(secretRow).toContainText('secret');
	await expect(secretRow).not.toContainText('s3cret-value');
	await env.getByRole('button', { name: 'Delete GREETING' }).click();
	await env.getByRole('button', { name: 'Confirm delete' }).click();
	await expect(env.locator('tr[data-env-key="GREETING"]')).toHaveCount(0);
	await expect(secretRow).toBeVisible();
	await screenshot(page, 'deployment-env');

	// The list shows the deployment serving v1.
	await page.bringToFront();
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deployments' }).click();
	const row = page.getByRole('row', { name: /e2e-site/ });
	await expect(row.getByTestId('deployment-state')).toHaveAttribute('data-state', 'running');
	await expect(row).toContainText('v1');
	await screenshot(page, 'deployments-list');

	await tab.close();
	await api(page, 'DELETE', `/sandboxes/${sb.id}`);
});
