import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { screenshot, signUp, uniqueEmail } from './helpers';

// The terminal is a canvas: tests read what it shows from xterm's buffer through the component's
// test hook (`window.__hangarTerminals[sessionId].text()`), never from pixels.

/** Same-origin API call with the page's session cookie (the API wants an Origin on cookie mutations). */
async function api(page: Page, method: 'GET' | 'POST' | 'DELETE', path: string, data?: unknown) {
	const origin = new URL(page.url()).origin;
	const res = await page.request.fetch(`${origin}/api/v1${path}`, { method, data, headers: { origin } });
	const body = await res.json().catch(() => null);
	expect(res.ok(), `${method} ${path}: ${res.status()} ${JSON.stringify(body)}`).toBe(true);
	return body?.data;
}

async function hostOnline(page: Page) {
	await expect
		.poll(async () => (await (await page.request.get('/api/v1/health')).json()).hosts_online, { timeout: 60_000 })
		.toBeGreaterThan(0);
}

const onTestEnd: (() => Promise<void>)[] = [];
test.afterEach(async () => {
	for (const f of onTestEnd.splice(0)) await f();
});

const bufferOf = (page: Page | import('@playwright/test').Frame, sessionId: string) =>
	page.evaluate((id) => window.__hangarTerminals?.[id]?.text() ?? '', sessionId);

test('a sandbox terminal: type, read the buffer, survive a dropped socket; an embed in a customer page', async ({ page }) => {
	await signUp(page, { email: uniqueEmail('term') });
	await hostOnline(page);
	const sandbox = await api(page, 'POST', '/sandboxes', { template_id: 'host-minimal' });
	expect(sandbox.state).toBe('running');

	await page.goto(`/sandboxes/${sandbox.id}`);
	await page.getByRole('tab', { name: 'Terminal' }).click();
	const term = page.getByTestId('terminal').first();
	await expect(term).toHaveAttribute('data-status', 'connected', { timeout: 20_000 });
	const sessionId = (await term.getAttribute('data-session-id'))!;

	await term.click();
	await page.keyboard.type('echo hello');
	await page.keyboard.press('Enter');
	await expect.poll(() => bufferOf(page, sessionId)).toMatch(/^hello$/m);
	await page.keyboard.type('export KEPT=kept-$((6*7))');
	await page.keyboard.press('Enter');
	await screenshot(page, 'terminal');

	// A dropped socket reconnects with a fresh ticket; the shell kept its state.
	await page.evaluate((id) => window.__hangarTerminals![id].drop(), sessionId);
	await expect(term).toHaveAttribute('data-status', 'connected', { timeout: 20_000 });
	await term.click();
	await page.keyboard.type('echo "got $KEPT"');
	await page.keyboard.press('Enter');
	await expect.poll(() => bufferOf(page, sessionId)).toMatch(/^got kept-42$/m);
	// The replay on reconnect redrew the earlier output once, not twice.
	expect((await bufferOf(page, sessionId)).match(/^hello$/gm)?.length).toBe(1);

	// A second shell in a new tab, then close it.
	await page.getByRole('button', { name: 'New terminal' }).click();
	await expect(page.getByTestId('terminal')).toHaveCount(2);
	const second = page.getByTestId('terminal').nth(1);
	await expect(second).toHaveAttribute('data-status', 'connected', { timeout: 20_000 });
	await page.getByRole('button', { name: 'Close Shell 2' }).click();
	await expect(page.getByTestId('terminal')).toHaveCount(1);

	// Embedding: a customer's page (another origin, served by a small local server: Chromium's
	// private-network rules refuse local frames in pages that come from nowhere) frames
	// /embed/terminal/<session>?ticket=… and answers the frame's reconnect request with a ticket it minted.
	const app = new URL(page.url()).origin;
	const first = await api(page, 'POST', `/sandboxes/${sandbox.id}/terminal/${sessionId}/ticket`, { ttl_seconds: 600 });
	const customerHtml = `<!doctype html><title>Customer</title>
<script>
window.msgs = [];
window.addEventListener('message', (e) => {
	window.msgs.push(e.data);
	if (e.data && e.data.type === 'hangar:terminal:reconnect' && window.nextTicket) {
		e.source.postMessage({ type: 'hangar:terminal:ticket', session_id: e.data.session_id, ticket: window.nextTicket }, '*');
		window.nextTicket = null;
	}
});
</script>
<iframe id="t" src="${first.embed_url}" style="width:820px;height:420px;border:0"></iframe>`;
	const customer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(customerHtml));
	await new Promise<void>((r) => customer.listen(0, '127.0.0.1', () => r()));
	onTestEnd.push(() => new Promise((r) => customer.close(() => r())));
	await page.goto(`http://localhost:${(customer.address() as AddressInfo).port}/`);
	const frame = page.frameLocator('#t');
	const embedded = frame.getByTestId('terminal');
	await expect(embedded).toHaveAttribute('data-status', 'connected', { timeout: 20_000 });
	const embedFrame = page.frame({ url: (u) => u.pathname.startsWith('/embed/terminal/') })!;
	expect(new URL(embedFrame.url()).origin).toBe(app);
	await embedded.click();
	await page.keyboard.type('echo "embedded $KEPT"');
	await page.keyboard.press('Enter');
	await expect.poll(() => bufferOf(embedFrame, sessionId)).toMatch(/^embedded kept-42$/m);
	await expect.poll(() => page.evaluate(() => (window as unknown as { msgs: { type: string; status?: string }[] }).msgs.some((m) => m.type === 'hangar:terminal:status' && m.status === 'connected'))).toBe(true);
	await screenshot(page, 'terminal-embed');

	// The frame asks its parent for a ticket after a drop.
	const next = await page.request.fetch(`${app}/api/v1/sandboxes/${sandbox.id}/terminal/${sessionId}/ticket`, { method: 'POST', data: {}, headers: { origin: app } });
	expect(next.ok()).toBe(true);
	await page.evaluate((t) => ((window as unknown as { nextTicket: string }).nextTicket = t), (await next.json()).data.ticket);
	await embedFrame.evaluate((id) => window.__hangarTerminals![id].drop(), sessionId);
	await expect.poll(() => page.evaluate(() => (window as unknown as { msgs: { type: string }[] }).msgs.some((m) => m.type === 'hangar:terminal:reconnect'))).toBe(true);
	await expect(embedded).toHaveAttribute('data-status', 'connected', { timeout: 20_000 });
	// Without an answer the frame gives up and says so.
	await embedFrame.evaluate((id) => window.__hangarTerminals![id].drop(), sessionId);
	await expect(embedded).toHaveAttribute('data-status', 'closed', { timeout: 20_000 });
	await expect(frame.getByText('Disconnected')).toBeVisible();
});
