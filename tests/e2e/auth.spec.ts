import { expect, test } from '@playwright/test';
import { appReady, logIn, logOut, PASSWORD, screenshot, signUp, uniqueEmail } from './helpers';

test('sign up, manage workspaces and projects, and call the API with a new key', async ({ page, request }) => {
	await signUp(page, { email: uniqueEmail('owner'), name: 'Ada Owner', organization: 'Analytical Engines' });
	await expect(page.getByRole('heading', { name: 'Sandboxes' })).toBeVisible();
	await expect(page.getByLabel('Organization')).toHaveValue(/.+/);
	await expect(page.getByLabel('Organization').locator('option:checked')).toHaveText('Analytical Engines');
	await screenshot(page, 'sandboxes');

	// Workspaces: the signup made a default one; create another.
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workspaces' }).click();
	await expect(page.getByRole('heading', { name: 'Workspaces' })).toBeVisible();
	await expect(page.getByRole('row', { name: /Default/ })).toBeVisible();

	await page.getByRole('button', { name: 'New workspace' }).click();
	let dialog = page.getByRole('dialog', { name: 'New workspace' });
	await dialog.getByLabel(/^Name/).fill('Research');
	await dialog.getByLabel(/^Slug/).fill('Not A Slug!');
	await dialog.getByRole('button', { name: 'Create workspace' }).click();
	// Server-side validation keeps the dialog open with the error under the field.
	await expect(dialog.getByRole('alert')).toBeVisible();
	await expect(dialog.getByLabel(/^Slug/)).toHaveAttribute('aria-invalid', 'true');
	await screenshot(page, 'workspace-dialog-error');
	await dialog.getByLabel(/^Slug/).fill('');
	await dialog.getByRole('button', { name: 'Create workspace' }).click();
	await expect(dialog).toBeHidden();
	await expect(page.getByRole('link', { name: 'Research' })).toBeVisible();
	await screenshot(page, 'workspaces');

	// The workspace's page: projects.
	await page.getByRole('link', { name: 'Research' }).click();
	await expect(page.getByRole('heading', { name: 'Research', level: 1 })).toBeVisible();
	await expect(page.getByRole('row', { name: /Default/ })).toBeVisible();

	await page.getByRole('button', { name: 'New project' }).click();
	dialog = page.getByRole('dialog', { name: 'New project' });
	await dialog.getByLabel(/^Name/).fill('Backend');
	await dialog.getByRole('button', { name: 'Create project' }).click();
	await expect(dialog).toBeHidden();
	await expect(page.getByRole('row', { name: /Backend/ })).toBeVisible();

	await page.getByRole('button', { name: 'Rename project Backend' }).click();
	dialog = page.getByRole('dialog', { name: 'Rename project' });
	await dialog.getByLabel('Name').fill('API server');
	await dialog.getByRole('button', { name: 'Save' }).click();
	await expect(page.getByRole('row', { name: /API server/ })).toBeVisible();
	await expect(page.getByRole('row', { name: /Backend/ })).toHaveCount(0);

	await page.getByRole('button', { name: 'Delete project API server' }).click();
	await page.getByRole('dialog', { name: /Delete project/ }).getByRole('button', { name: 'Delete project' }).click();
	await expect(page.getByRole('row', { name: /API server/ })).toHaveCount(0);

	await page.getByRole('button', { name: 'Rename workspace Research' }).click();
	dialog = page.getByRole('dialog', { name: 'Rename workspace' });
	await dialog.getByLabel('Name').fill('Research Lab');
	await dialog.getByRole('button', { name: 'Save' }).click();
	await expect(page.getByRole('heading', { name: 'Research Lab', level: 1 })).toBeVisible();
	await screenshot(page, 'workspace-detail');

	// The top-bar workspace switcher remembers the pick.
	const switched = page.waitForResponse((r) => r.url().includes('/switch?/workspace') && r.request().method() === 'POST');
	await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Research Lab' });
	await switched;
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workspaces' }).click();
	await expect(page.getByRole('row', { name: /Research Lab/ }).getByText('Current')).toBeVisible();

	// API key with one read scope and an expiry.
	await page.getByRole('link', { name: 'API keys' }).first().click();
	await expect(page.getByRole('heading', { name: 'API keys', level: 1 })).toBeVisible();
	await expect(page.getByText('No API keys')).toBeVisible();
	await page.getByRole('button', { name: 'New API key', exact: true }).click();
	dialog = page.getByRole('dialog', { name: 'New API key' });
	await dialog.getByLabel('Name', { exact: true }).fill('e2e reader');
	await dialog.getByRole('checkbox', { name: /Full access/ }).uncheck();
	await dialog.getByRole('button', { name: 'Create API key' }).click();
	await expect(dialog.getByText('Choose at least one scope.')).toBeVisible();
	await dialog.getByRole('checkbox', { name: 'workspaces:read', exact: true }).check();
	await dialog.getByLabel('Expiry').selectOption({ label: 'In 30 days' });
	await screenshot(page, 'api-key-dialog');
	await dialog.getByRole('button', { name: 'Create API key' }).click();
	await expect(dialog).toBeHidden();
	// The dialog starts over next time (full access checked again).
	await page.getByRole('button', { name: 'New API key', exact: true }).click();
	await expect(dialog.getByRole('checkbox', { name: /Full access/ })).toBeChecked();
	await expect(dialog.getByRole('checkbox', { name: 'workspaces:read', exact: true })).not.toBeChecked();
	await dialog.getByRole('button', { name: 'Cancel' }).click();
	const keyBox = page.getByTestId('new-api-key');
	await expect(keyBox).toBeVisible();
	const key = (await keyBox.textContent())!.trim();
	expect(key).toMatch(/^msk_/);
	const row = page.getByRole('row', { name: /e2e reader/ });
	await expect(row).toContainText('workspaces:read');
	await expect(row).toContainText('active');
	await expect(row).toContainText(key.slice(0, 12));
	await screenshot(page, 'api-keys');

	const auth = { authorization: `Bearer ${key}` };
	const list = await request.get('/api/v1/workspaces', { headers: auth });
	expect(list.status()).toBe(200);
	const names = ((await list.json()).data as { name: string }[]).map((w) => w.name);
	expect(names).toEqual(expect.arrayContaining(['Default', 'Research Lab']));
	// The key carries only workspaces:read.
	const write = await request.post('/api/v1/workspaces', { headers: auth, data: { name: 'Nope' } });
	expect(write.status()).toBe(403);

	// Revoking works at once.
	await row.getByRole('button', { name: 'Revoke API key e2e reader' }).click();
	await page.getByRole('dialog', { name: /Revoke/ }).getByRole('button', { name: 'Revoke key' }).click();
	await expect(page.getByRole('row', { name: /e2e reader/ })).toHaveCount(0);
	expect((await request.get('/api/v1/workspaces', { headers: auth })).status()).toBe(401);

	// Delete the workspace from the list.
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workspaces' }).click();
	await page.getByRole('button', { name: 'Delete workspace Research Lab' }).click();
	await page.getByRole('dialog', { name: /Delete workspace/ }).getByRole('button', { name: 'Delete workspace' }).click();
	await expect(page.getByRole('link', { name: 'Research Lab' })).toHaveCount(0);
	await expect(page.getByRole('row', { name: /Default/ })).toBeVisible();

	// Unknown workspaces are a 404 inside the shell.
	await page.goto('/workspaces/00000000-0000-4000-8000-000000000000');
	await expect(page.getByText('Workspace not found')).toBeVisible();
	await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();

	// Everything above is in the audit log; page through it with "Load more".
	await page.goto('/audit-log?limit=4');
	await appReady(page);
	await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
	const rows = page.getByRole('table', { name: 'Audit log' }).locator('tbody tr');
	await expect(rows).toHaveCount(4);
	await expect(page.getByRole('cell', { name: 'workspace.deleted' })).toBeVisible();
	await page.getByRole('button', { name: 'Load more' }).click();
	await expect(rows).toHaveCount(8);
	await page.goto('/audit-log');
	for (const action of ['user.signed_up', 'workspace.created', 'workspace.updated', 'project.created', 'project.updated', 'project.deleted', 'api_key.created', 'api_key.revoked']) {
		await expect(page.getByText(action, { exact: true }).first()).toBeVisible();
	}
	await screenshot(page, 'audit-log');
});

test('log out, log in again, and a wrong password shows an error', async ({ page }) => {
	const email = uniqueEmail('login');
	await signUp(page, { email });
	await logOut(page);

	// Signed out: the app sends people to the login page and back afterwards.
	await page.goto('/workspaces');
	await expect(page).toHaveURL(/\/login\?redirectTo=%2Fworkspaces$/);
	await logIn(page, email, 'not the password');
	await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
	await expect(page.getByLabel('Email')).toHaveValue(email);
	await screenshot(page, 'login-error');

	await logIn(page, email);
	await expect(page).toHaveURL(/\/workspaces$/);
	await expect(page.getByRole('heading', { name: 'Workspaces' })).toBeVisible();

	// A logged-out session is dead: its cookie no longer opens the app.
	await appReady(page);
	const cookies = await page.context().cookies();
	await logOut(page);
	await page.context().addCookies(cookies.filter((c) => c.name === 'hangar_session'));
	await page.goto('/workspaces');
	await expect(page).toHaveURL(/\/login/);

	await logIn(page, email);
	await expect(page).toHaveURL(/\/workspaces$/);
	await page.goto('/audit-log?category=auth');
	await expect(page.getByText('user.logged_in', { exact: true }).first()).toBeVisible();
	await expect(page.getByText('user.logged_out', { exact: true }).first()).toBeVisible();
});

test('repeated wrong passwords are rate limited', async ({ page }) => {
	const email = uniqueEmail('limited');
	await signUp(page, { email });
	await logOut(page);
	// HANGAR_LOGIN_RATE_LIMIT is 5 in playwright.config.ts.
	for (let i = 0; i < 5; i++) {
		await logIn(page, email, `wrong-${i}`);
		await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
	}
	await logIn(page, email, 'wrong-again');
	await expect(page.getByRole('alert')).toHaveText(/Too many attempts, try again in \d+ s\./);
});

test('signing up with a taken email shows the error under the field', async ({ page }) => {
	const email = uniqueEmail('taken');
	await signUp(page, { email });
	await logOut(page);
	await page.goto('/signup');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(PASSWORD);
	await page.getByRole('button', { name: 'Create account' }).click();
	await expect(page.getByRole('alert')).toContainText('already registered');
	await expect(page.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true');
	await expect(page.getByText('Already registered.', { exact: true })).toBeVisible();
	await screenshot(page, 'signup-error');
});
