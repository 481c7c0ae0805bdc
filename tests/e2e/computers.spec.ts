import { execSync } from 'node:child_process';
import { expect, test, type Page } from '@playwright/test';
import { appReady, screenshot, signUp, uniqueEmail } from './helpers';

// Computers in the browser: the live desktop (noVNC over /ws/desktop) draws frames, a person
// takes over and types into an app (checked through the API), hands back; the embed page works
// with a stream token and refuses a used or expired one.

const missing = ['Xvnc', 'xfwm4', 'xterm', 'xdotool', 'import', 'xclip', 'xprop'].filter((b) => {
	try {
		execSync(`command -v ${b}`, { stdio: 'ignore', shell: '/bin/sh' });
		return false;
	} catch {
		return true;
	}
});

async function api(page: Page, method: 'GET' | 'POST' | 'DELETE', path: string, data?: unknown) {
	const origin = new URL(page.url()).origin;
	const res = await page.request.fetch(`${origin}/api/v1${path}`, { method, data, headers: { origin } });
	const body = await res.json().catch(() => null);
	expect(res.ok(), `${method} ${path}: ${res.status()} ${JSON.stringify(body)}`).toBe(true);
	return body;
}

/** Share of canvas pixels that are not black/transparent (the desktop is drawn, not blank). */
const drawn = (page: Page, scope = '[data-testid="desktop-view"] canvas') =>
	page.evaluate((sel) => {
		const c = document.querySelector(sel) as HTMLCanvasElement | null;
		if (!c || !c.width || !c.height) return 0;
		const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
		let lit = 0;
		const step = 16;
		let n = 0;
		for (let i = 0; i < d.length; i += 4 * step) {
			n++;
			if (d[i + 3] > 0 && d[i] + d[i + 1] + d[i + 2] > 30) lit++;
		}
		return lit / n;
	}, scope);

test.skip(missing.length > 0, `desktop packages missing on this host: ${missing.join(', ')}`);

test('live desktop: frames, take over, type from the browser into the terminal, hand back; embed with a stream token', async ({ page, browser }) => {
	test.setTimeout(150_000);
	await signUp(page, { email: uniqueEmail('computers'), organization: 'Desk Lab' });
	await expect.poll(async () => (await (await page.request.get('/api/v1/health')).json()).hosts_online, { timeout: 60_000 }).toBeGreaterThan(0);

	await page.goto('/computers');
	await appReady(page);
	await expect(page.getByRole('heading', { name: 'Computers', level: 1 })).toBeVisible();
	await page.getByLabel('Name').fill('e2e-desk');
	await page.getByRole('button', { name: 'New computer' }).click();
	await expect(page).toHaveURL(/\/computers\/[0-9a-f-]{36}$/, { timeout: 60_000 });
	const id = new URL(page.url()).pathname.split('/').pop()!;
	await expect(page.getByTestId('computer-status')).toHaveAttribute('data-status', 'active', { timeout: 60_000 });

	// The live view connects and draws the desktop.
	const view = page.getByTestId('desktop-view');
	await expect(view).toHaveAttribute('data-status', 'connected', { timeout: 30_000 });
	await expect(view).toHaveAttribute('data-view-only', 'true');
	await expect.poll(() => drawn(page), { timeout: 15_000 }).toBeGreaterThan(0.2);
	await screenshot(page, 'computer-live');

	// Watching: keys typed in the browser do not reach the desktop.
	const term = await expect
		.poll(async () => ((await api(page, 'GET', `/computers/${id}/desktop/windows`)).windows as any[]).find((w) => w.title === 'Terminal'), { timeout: 20_000 })
		.toBeTruthy()
		.then(async () => ((await api(page, 'GET', `/computers/${id}/desktop/windows`)).windows as any[]).find((w) => w.title === 'Terminal'));
	await api(page, 'POST', `/computers/${id}/desktop/window/focus`, { window_id: term.id });

	// Take over: the view becomes interactive, the API's input is refused.
	await page.getByTestId('take-over').click();
	await expect(page.getByTestId('control-indicator')).toHaveAttribute('data-holder', 'user');
	await expect(view).toHaveAttribute('data-view-only', 'false');
	const refused = await page.request.fetch(`/api/v1/computers/${id}/desktop/click`, { method: 'POST', data: { x: 1, y: 1 }, headers: { origin: new URL(page.url()).origin } });
	expect(refused.status()).toBe(409);

	// Click into the terminal (mapping screen → canvas coordinates), type, Enter.
	const canvas = view.locator('canvas');
	const box = (await canvas.boundingBox())!;
	const scale = box.width / 1280;
	await page.mouse.click(box.x + (term.x + term.width / 2) * scale, box.y + (term.y + term.height / 2) * scale);
	await page.keyboard.type('echo from-the-browser > /tmp/browser.txt', { delay: 15 });
	await page.keyboard.press('Enter');
	await expect
		.poll(async () => (await api(page, 'POST', `/computers/${id}/exec`, { command: 'cat /tmp/browser.txt 2>/dev/null' })).stdout, { timeout: 15_000 })
		.toBe('from-the-browser\n');
	await screenshot(page, 'computer-taken-over');

	// Clipboard both ways through the live view (while the person holds control).
	type Hook = { clipboard(): string; paste(t: string): void };
	const hook = (fn: string, arg?: string) =>
		page.evaluate(([cid, f, a]) => {
			const h = (window as unknown as { __hangarDesktops: Record<string, Hook> }).__hangarDesktops[cid!];
			return f === 'paste' ? (h.paste(a!), '') : h.clipboard();
		}, [id, fn, arg] as const);
	await hook('paste', 'from-browser-clipboard');
	await expect.poll(async () => (await api(page, 'GET', `/computers/${id}/desktop/clipboard`)).text, { timeout: 10_000 }).toBe('from-browser-clipboard');
	await api(page, 'POST', `/computers/${id}/exec`, { command: 'printf from-desktop-clipboard | DISPLAY=:1 xclip -selection clipboard -i' });
	await expect.poll(() => hook('clipboard'), { timeout: 10_000 }).toBe('from-desktop-clipboard');

	await page.getByTestId('hand-back').click();
	await expect(page.getByTestId('control-indicator')).toHaveAttribute('data-holder', 'agent');
	await expect(view).toHaveAttribute('data-view-only', 'true');
	// The activity log shows the take-over and the hand-back.
	await expect(page.getByTestId('computer-events')).toContainText('control.taken');
	await expect(page.getByTestId('computer-events')).toContainText('control.returned', { timeout: 10_000 });

	// Embed: a stream token opens the desktop in a frameable page, once.
	const tok = await api(page, 'POST', `/computers/${id}/stream-token`, { read_only: true, expires_in: 300 });
	expect(tok.url).toContain(`/embed/computers/${id}?ticket=dtk_`);
	const ctx = await browser.newContext();
	const embed = await ctx.newPage();
	const t0 = Date.now();
	const first = await embed.goto(tok.url);
	expect(first?.status()).toBe(200);
	expect(first?.headers()['content-security-policy'] ?? '').not.toContain("frame-ancestors 'none'");
	await expect(embed.getByTestId('embed-desktop')).toHaveAttribute('data-status', 'connected', { timeout: 30_000 });
	await expect.poll(() => drawn(embed), { timeout: 15_000, intervals: [10] }).toBeGreaterThan(0.2);
	console.log(`embed: goto → desktop drawn in ${Date.now() - t0} ms`);
	await expect(embed.getByTestId('desktop-view')).toHaveAttribute('data-view-only', 'true');
	// Reconnect after a dropped socket (refresh ticket).
	await embed.evaluate((cid) => (window as unknown as { __hangarDesktops?: Record<string, { drop(): void }> }).__hangarDesktops?.[cid]?.drop(), id);
	await expect(embed.getByTestId('embed-desktop')).toHaveAttribute('data-status', 'connected', { timeout: 30_000 });

	// Used → 401; expired → 401.
	const again = await ctx.newPage();
	expect((await again.goto(tok.url))?.status()).toBe(401);
	const short = await api(page, 'POST', `/computers/${id}/stream-token`, { expires_in: 5 });
	await new Promise((r) => setTimeout(r, 6000));
	expect((await again.goto(short.url))?.status()).toBe(401);
	await ctx.close();

	await api(page, 'DELETE', `/computers/${id}`);
});
