import { expect, type Page } from '@playwright/test';

export const PASSWORD = 'correct horse battery';

/** A unique address per test so tests never share an account. */
export function uniqueEmail(tag: string): string {
	return `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}@e2e.test`;
}

/** Waits until the page has hydrated (dialogs and enhanced forms need JavaScript). */
export async function appReady(page: Page): Promise<void> {
	await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
}

export async function signUp(page: Page, opts: { email: string; name?: string; organization?: string }): Promise<void> {
	await page.goto('/signup');
	await appReady(page);
	if (opts.name) await page.getByLabel(/^Name/).fill(opts.name);
	await page.getByLabel('Email').fill(opts.email);
	await page.getByLabel('Password').fill(PASSWORD);
	if (opts.organization) await page.getByLabel(/^Organization name/).fill(opts.organization);
	await page.getByRole('button', { name: 'Create account' }).click();
	await expect(page).toHaveURL(/\/sandboxes$/);
	await appReady(page);
}

/** Submits the login form on the current page and waits for the server's answer. */
export async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
	await appReady(page);
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	const answered = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login');
	await page.getByRole('button', { name: 'Log in' }).click();
	await answered;
}

export async function logOut(page: Page): Promise<void> {
	await page.getByLabel('User menu').click();
	await page.getByRole('button', { name: 'Log out' }).click();
	await expect(page).toHaveURL(/\/login$/);
	await appReady(page);
}

/** Full-page screenshot into test-results/screens/ for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}
