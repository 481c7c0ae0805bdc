import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { appReady, screenshot, signUp, uniqueEmail } from './helpers';

/** Creates a sandbox from the "New sandbox" dialog and waits for its page. */
async function createSandbox(page: Page, name: string, timeoutSec = 900): Promise<string> {
	await page.goto('/sandboxes');
	await appReady(page);
	await page.getByRole('button', { name: 'New sandbox' }).click();
	const dialog = page.getByRole('dialog', { name: 'New sandbox' });
	await dialog.getByLabel('Template').selectOption('host-minimal');
	await dialog.getByLabel('Size').selectOption('xs');
	await dialog.getByLabel(/^Name/).fill(name);
	await dialog.getByLabel(/^Timeout/).fill(String(timeoutSec));
	return submitNewSandbox(page);
}

async function submitNewSandbox(page: Page): Promise<string> {
	await page.getByRole('dialog', { name: 'New sandbox' }).getByRole('button', { name: 'Create sandbox' }).click();
	await expect(page).toHaveURL(/\/sandboxes\/[0-9a-f-]{36}$/, { timeout: 30_000 });
	await appReady(page);
	return new URL(page.url()).pathname.split('/').pop()!;
}

test('create a sandbox, run commands and processes, follow its events, pause, resume, extend and delete it', async ({ page }) => {
	test.setTimeout(120_000);
	await signUp(page, { email: uniqueEmail('sandboxes'), organization: 'Sandbox Lab' });
	await expect(page.getByRole('heading', { name: 'Sandboxes', level: 1 })).toBeVisible();
	await expect(page.getByText('No sandboxes yet')).toBeVisible();

	// The dialog defaults to the top-bar workspace and validates on the server.
	await page.getByRole('button', { name: 'New sandbox' }).click();
	let dialog = page.getByRole('dialog', { name: 'New sandbox' });
	await expect(dialog.getByLabel('Workspace')).toHaveValue(await page.getByLabel('Workspace', { exact: true }).first().inputValue());
	// Out-of-range numbers are stopped by the browser before they are sent.
	await dialog.getByLabel(/^Timeout/).fill('0');
	await dialog.getByRole('button', { name: 'Create sandbox' }).click();
	expect(await dialog.getByLabel(/^Timeout/).evaluate((el: HTMLInputElement) => el.validity.rangeUnderflow)).toBe(true);
	await expect(dialog).toBeVisible();
	await dialog.getByLabel('Template').selectOption('host-minimal');
	await dialog.getByLabel('Size').selectOption('xs');
	await dialog.getByLabel(/^Name/).fill('e2e-box');
	await dialog.getByLabel(/^Timeout/).fill('900');
	await screenshot(page, 'sandbox-new');
	const id = await submitNewSandbox(page);

	await expect(page.getByRole('heading', { name: 'e2e-box', level: 1 })).toBeVisible();
	const state = page.getByTestId('sandbox-state');
	await expect(state).toHaveAttribute('data-state', 'running', { timeout: 30_000 });
	await expect(page.getByRole('region', { name: 'Details' })).toContainText(id);
	await expect(page.getByRole('region', { name: 'Details' })).toContainText('host-minimal');

	// The list shows it running, with a ticking countdown.
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sandboxes' }).click();
	const listRow = page.getByRole('row', { name: /e2e-box/ });
	await expect(listRow.getByTestId('sandbox-state')).toHaveAttribute('data-state', 'running');
	await expect(listRow).toContainText('host-minimal');
	const before = await listRow.getByTestId('time-left').textContent();
	await expect(listRow.getByTestId('time-left')).not.toHaveText(before!, { timeout: 5000 });
	await screenshot(page, 'sandboxes-list');
	await listRow.getByRole('link', { name: 'e2e-box' }).click();
	await appReady(page);

	// Exec console: stdout and stderr stream in, then the exit code.
	const exec = page.getByTestId('exec-console');
	await exec.getByLabel('Command', { exact: true }).fill('echo hello-e2e; echo oops >&2');
	await exec.getByRole('button', { name: 'Run' }).click();
	let run = exec.getByTestId('exec-run').last();
	await expect(run).toHaveAttribute('data-status', 'done');
	await expect(run.locator('[data-stream="stdout"]')).toHaveText(['hello-e2e']);
	await expect(run.locator('[data-stream="stderr"]')).toHaveText(['oops']);
	await expect(run.locator('[data-stream="stderr"]')).toHaveClass(/text-red/);
	await expect(run.getByTestId('exec-result')).toContainText('exit 0');
	await expect(run.getByTestId('exec-result')).toContainText(/\d+ ms/);
	// A failing command, then the first one again from history (↑ ↑).
	await exec.getByLabel('Command', { exact: true }).fill('exit 3');
	await exec.getByLabel('Command', { exact: true }).press('Enter');
	await expect(exec.getByTestId('exec-run').last().getByTestId('exec-result')).toContainText('exit 3');
	await exec.getByLabel('Command', { exact: true }).press('ArrowUp');
	await exec.getByLabel('Command', { exact: true }).press('ArrowUp');
	await expect(exec.getByLabel('Command', { exact: true })).toHaveValue('echo hello-e2e; echo oops >&2');
	await exec.getByLabel('Command', { exact: true }).fill('');

	// A background process: listed, its logs follow, then stopped.
	const procs = page.getByTestId('processes-panel');
	await procs.getByLabel('Command').fill('while true; do echo tick-$((i=i+1)); sleep 0.5; done');
	await procs.getByLabel(/^Name/).fill('ticker');
	await procs.getByRole('button', { name: 'Start process' }).click();
	const procRow = procs.getByRole('row', { name: /ticker/ });
	await expect(procRow).toContainText('running');
	await expect(procs.getByRole('log')).toContainText('tick-2');

	// The activity feed is live and lists what happened, newest first.
	const feed = page.getByTestId('activity-feed');
	await expect(feed).toHaveAttribute('data-status', 'connected');
	for (const type of ['sandbox.created', 'sandbox.started', 'sandbox.exec.started', 'sandbox.exec.completed', 'sandbox.process.started']) {
		await expect(feed.locator(`li[data-type="${type}"]`).first()).toBeVisible();
	}
	await expect(feed.locator('li').first()).toHaveAttribute('data-type', 'sandbox.process.started');
	await screenshot(page, 'sandbox-detail');

	await procRow.getByRole('button', { name: /^Stop process/ }).click();
	await expect(procRow).toContainText('exited');
	await expect(feed.locator('li[data-type="sandbox.process.exited"]')).toBeVisible();

	// Tabs: Terminal and Files have their place; the console keeps its history across tabs.
	await page.getByRole('tab', { name: 'Terminal' }).click();
	await expect(page).toHaveURL(/\?tab=terminal$/);
	await expect(exec).toBeHidden();
	await page.getByRole('tab', { name: 'Files' }).click();
	await page.getByRole('tab', { name: 'Overview' }).click();
	await expect(exec.getByTestId('exec-run')).toHaveCount(2);

	// Pause and resume.
	await page.getByRole('button', { name: 'Pause', exact: true }).click();
	await expect(state).toHaveAttribute('data-state', 'paused');
	await expect(feed.locator('li[data-type="sandbox.paused"]')).toBeVisible();
	await expect(page.getByText('Processes are listed while the sandbox is running.')).toBeVisible();
	await screenshot(page, 'sandbox-paused');
	await page.getByRole('button', { name: 'Resume', exact: true }).click();
	await expect(state).toHaveAttribute('data-state', 'running');
	await expect(feed.locator('li[data-type="sandbox.resumed"]')).toBeVisible();

	// Extend: +5 min adds to the ~15 min left; a custom amount adds more.
	const timeLeft = page.getByRole('region', { name: 'Details' }).getByTestId('time-left');
	await expect(timeLeft).toHaveText(/^1[45] m/);
	await page.getByRole('button', { name: 'Extend by 5 minutes' }).click();
	await expect(timeLeft).toHaveText(/^(19|20) m/);
	await page.getByRole('button', { name: 'Extend…' }).click();
	dialog = page.getByRole('dialog', { name: /Extend/ });
	await dialog.getByLabel('Minutes to add').fill('60');
	await dialog.getByRole('button', { name: 'Extend', exact: true }).click();
	await expect(timeLeft).toHaveText(/^1 h (19|20) m/);
	await expect(feed.locator('li[data-type="sandbox.extended"]').first()).toBeVisible();

	// Delete, with a confirmation.
	await page.getByRole('button', { name: 'Delete', exact: true }).click();
	await page.getByRole('dialog', { name: /Delete e2e-box/ }).getByRole('button', { name: 'Delete sandbox' }).click();
	await expect(state).toHaveAttribute('data-state', 'destroyed');
	await expect(page.getByText('This sandbox was destroyed')).toBeVisible();
	await expect(feed.locator('li[data-type="sandbox.destroyed"]')).toBeVisible();
	await expect(page.getByRole('button', { name: 'Pause', exact: true })).toHaveCount(0);
	await expect(exec.getByLabel('Command', { exact: true })).toBeDisabled();
	await screenshot(page, 'sandbox-destroyed');

	// Gone from the live list; there under "Destroyed".
	await page.goto('/sandboxes');
	await expect(page.getByRole('row', { name: /e2e-box/ })).toHaveCount(0);
	await page.getByLabel('State').selectOption({ label: 'Destroyed' });
	await expect(page).toHaveURL(/state=destroyed/);
	await expect(page.getByRole('row', { name: /e2e-box/ }).getByTestId('sandbox-state')).toHaveAttribute('data-state', 'destroyed');

	// Unknown sandboxes are a 404 inside the shell.
	await page.goto('/sandboxes/00000000-0000-4000-8000-000000000000');
	await expect(page.getByText('Sandbox not found')).toBeVisible();
});

test('a webhook receives signed sandbox events and lists its deliveries', async ({ page }) => {
	test.setTimeout(90_000);
	const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
	const receiver = http.createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			received.push({ headers: req.headers, body });
			res.writeHead(req.url === '/fail' ? 500 : 204).end();
		});
	});
	await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
	const port = (receiver.address() as AddressInfo).port;
	try {
		await signUp(page, { email: uniqueEmail('webhooks'), organization: 'Hook Shop' });
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
		await expect(page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeVisible();
		await expect(page.getByText('No webhooks')).toBeVisible();

		await page.getByRole('button', { name: 'New webhook' }).click();
		const dialog = page.getByRole('dialog', { name: 'New webhook' });
		// Validated on the server: only http(s) endpoints.
		await dialog.getByLabel('URL').fill(`ftp://127.0.0.1:${port}/hook`);
		await dialog.getByRole('button', { name: 'Create webhook' }).click();
		await expect(dialog.getByLabel('URL')).toHaveAttribute('aria-invalid', 'true');
		await expect(dialog.getByText('Only http(s) URLs.')).toBeVisible();
		await dialog.getByLabel('URL').fill(`http://127.0.0.1:${port}/hook`);
		await dialog.getByLabel('Max retries').fill('2');
		await dialog.getByLabel('Events').fill('sandbox.created, sandbox.started');
		await dialog.getByLabel(/^Description/).fill('e2e receiver');
		await dialog.getByRole('button', { name: 'Create webhook' }).click();
		await expect(dialog).toBeHidden();
		const secret = (await page.getByTestId('new-webhook-secret').textContent())!.trim();
		expect(secret).toMatch(/^sk_live_/);
		const row = page.getByRole('row', { name: /e2e receiver/ });
		await expect(row).toContainText('sandbox.created');
		await expect(row).toContainText('active');
		await screenshot(page, 'webhooks');

		// A test event is delivered and signed.
		await row.getByRole('button', { name: /^Send a test event/ }).click();
		await expect.poll(() => received.length).toBeGreaterThan(0);
		const test0 = received[0];
		expect(JSON.parse(test0.body).type).toBe('webhook.test');
		const sig = String(test0.headers['miosa-signature']);
		const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(sig)!;
		expect(v1).toBe(crypto.createHmac('sha256', secret).update(`${t}.${test0.body}`).digest('hex'));

		// Sandbox events matching the globs arrive too.
		await createSandbox(page, 'hooked');
		await expect(page.getByTestId('sandbox-state')).toHaveAttribute('data-state', 'running', { timeout: 30_000 });
		await expect.poll(() => received.map((r) => JSON.parse(r.body).type).sort()).toEqual(['sandbox.created', 'sandbox.started', 'webhook.test']);

		// The deliveries view.
		await page.goto('/webhooks');
		await page.getByRole('link', { name: `http://127.0.0.1:${port}/hook` }).click();
		await appReady(page);
		const deliveries = page.getByRole('table', { name: 'Deliveries' });
		for (const type of ['webhook.test', 'sandbox.created', 'sandbox.started']) {
			const d = deliveries.getByRole('row', { name: new RegExp(type.replace('.', '\\.')) });
			await expect(d).toContainText('succeeded');
			await expect(d).toContainText('HTTP 204');
		}
		await screenshot(page, 'webhook-deliveries');

		// Disabled: the test button is off; then delete it.
		await page.getByRole('button', { name: /^Disable webhook/ }).click();
		await expect(page.getByRole('button', { name: /^Enable webhook/ })).toBeVisible();
		await expect(page.getByRole('button', { name: /^Send a test event/ })).toBeDisabled();
		await page.getByRole('button', { name: /^Delete webhook/ }).click();
		await page.getByRole('dialog', { name: 'Delete this webhook?' }).getByRole('button', { name: 'Delete webhook' }).click();
		await expect(page).toHaveURL(/\/webhooks$/);
		await expect(page.getByText('No webhooks')).toBeVisible();

		await page.goto('/audit-log');
		for (const action of ['webhook.created', 'webhook.test_sent', 'webhook.updated', 'webhook.deleted', 'sandbox.created']) {
			await expect(page.getByText(action, { exact: true }).first()).toBeVisible();
		}
	} finally {
		receiver.close();
	}
});
