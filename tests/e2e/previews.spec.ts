import { expect, test, type Page } from '@playwright/test';
import { appReady, screenshot, signUp, uniqueEmail } from './helpers';

// A small web app: a page whose script fetches JSON from a relative URL and opens a WebSocket
// (like a dev server's hot reload channel); dependency-free Node.
const APP = String.raw`
const http = require('http'); const crypto = require('crypto');
const page = '<!doctype html><title>Sandbox app</title><h1 id="title">Loading…</h1><p id="ws">ws: waiting</p>' +
  '<script>fetch("api/data").then(r => r.json()).then(d => { document.getElementById("title").textContent = d.message; });' +
  'const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + location.pathname.replace(/[^/]*$/, "") + "live");' +
  'ws.onmessage = (e) => { document.getElementById("ws").textContent = "ws: " + e.data; };</script>';
const srv = http.createServer((req, res) => {
  if (req.url.endsWith('/api/data')) { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ message: 'Hello from the sandbox' })); return; }
  res.setHeader('content-type', 'text/html'); res.end(page);
});
srv.on('upgrade', (req, socket) => {
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  const msg = Buffer.from('reload ready');
  socket.write(Buffer.concat([Buffer.from([0x81, msg.length]), msg]));
  socket.on('data', () => {}); socket.on('error', () => {});
});
srv.listen(3000, '0.0.0.0');
`;

/** A JSON API call with the page's session cookie (same-origin, as the dashboard does). */
async function api(page: Page, method: string, path: string, data?: unknown) {
	const origin = new URL(page.url()).origin;
	const r = await page.request.fetch(`${origin}/api/v1${path}`, { method, data, headers: { origin, 'content-type': 'application/json' } });
	expect(r.ok(), await r.text()).toBe(true);
	return (await r.json()) as any;
}

test('a preview renders in Chromium, directly and embedded in the Previews tab; snapshots fork from the dashboard', async ({ page }) => {
	test.setTimeout(120_000);
	await signUp(page, { email: uniqueEmail('previews'), organization: 'Preview Lab' });
	const sb = (await api(page, 'POST', '/sandboxes', { template_id: 'host-minimal', name: 'preview-box', timeout_sec: 900 })).data;
	await api(page, 'POST', `/sandboxes/${sb.id}/exec`, { command: 'cat > /workspace/app.js', stdin: APP });
	await api(page, 'POST', `/sandboxes/${sb.id}/processes`, { command: 'node /workspace/app.js', name: 'web' });
	await expect
		.poll(async () => (await api(page, 'POST', `/sandboxes/${sb.id}/exec`, { command: 'cat </dev/null >/dev/tcp/127.0.0.1/3000', shell: 'bash' })).exit_code, { timeout: 20_000 })
		.toBe(0);

	// A public preview, opened directly at its own origin (<port>-<id>.preview.localhost).
	const pub = (await api(page, 'POST', `/sandboxes/${sb.id}/previews`, { port: 3000, visibility: 'public' })).data;
	expect(pub.url).toContain(`3000-${sb.id}.preview.localhost`);
	const tab = await page.context().newPage();
	await tab.goto(pub.url);
	await expect(tab.locator('#title')).toHaveText('Hello from the sandbox');
	await expect(tab.locator('#ws')).toHaveText('ws: reload ready');
	await screenshot(tab, 'preview-direct');
	// The path form works for the same app.
	await tab.goto(pub.path_url);
	await expect(tab.locator('#title')).toHaveText('Hello from the sandbox');
	await expect(tab.locator('#ws')).toHaveText('ws: reload ready');
	// A port nobody listens on: a readable page, not JSON.
	await api(page, 'POST', `/sandboxes/${sb.id}/previews`, { port: 4000, visibility: 'public' });
	await tab.goto(pub.url.replace('3000-', '4000-'));
	await expect(tab.getByRole('heading', { name: 'Nothing is listening on port 4000' })).toBeVisible();
	await tab.close();

	// Make it private: the dashboard embeds it with a preview token (cookie on the preview origin).
	await api(page, 'POST', `/sandboxes/${sb.id}/previews`, { port: 3000, visibility: 'private' });
	await page.goto(`/sandboxes/${sb.id}?tab=previews`);
	await appReady(page);
	const row = page.locator('tr[data-preview-port="3000"]');
	await expect(row).toContainText('private');
	await row.getByRole('button', { name: 'Show the preview of port 3000' }).click();
	const frame = page.frameLocator('[data-testid="preview-frame"]');
	await expect(frame.locator('#title')).toHaveText('Hello from the sandbox', { timeout: 20_000 });
	await expect(frame.locator('#ws')).toHaveText('ws: reload ready');
	await screenshot(page, 'preview-embedded');

	// A share link opens the private preview in a fresh browser context (no dashboard session).
	await row.getByRole('button', { name: 'Create a share link for port 3000' }).click();
	await expect(page.getByTestId('share-url')).toContainText('preview_token=miosa_pv_');
	const link = (await page.getByTestId('share-url').textContent())!.trim();
	const other = await page.context().browser()!.newContext();
	const visitor = await other.newPage();
	await visitor.goto(link);
	await expect(visitor).not.toHaveURL(/preview_token/);
	await expect(visitor.locator('#title')).toHaveText('Hello from the sandbox');
	// Without the link, the private preview is refused with a page saying so.
	const stranger = await (await page.context().browser()!.newContext()).newPage();
	await stranger.goto(pub.url);
	await expect(stranger.getByRole('heading', { name: 'This preview is private' })).toBeVisible();
	await other.close();

	// Snapshots tab: take one with a comment, then fork it into a new sandbox.
	await page.goto(`/sandboxes/${sb.id}?tab=snapshots`);
	await appReady(page);
	await page.getByLabel(/^Comment/).fill('app running');
	await page.getByRole('button', { name: 'Take snapshot' }).click();
	const item = page.locator('li[data-snapshot-id]').first();
	await expect(item).toContainText('app running');
	await expect(item).toContainText('ready', { timeout: 20_000 });
	await screenshot(page, 'snapshots-timeline');
	await item.getByRole('button', { name: 'Fork snapshot app running' }).click();
	await expect(page).toHaveURL(/\/sandboxes\/[0-9a-f-]{36}$/, { timeout: 30_000 });
	const forkId = new URL(page.url()).pathname.split('/').pop()!;
	expect(forkId).not.toBe(sb.id);
	const out = await api(page, 'POST', `/sandboxes/${forkId}/exec`, { command: 'head -c 40 /workspace/app.js | tr -d "\\n"' });
	expect(out.stdout).toContain('const http');
	await api(page, 'DELETE', `/sandboxes/${forkId}`);
	await api(page, 'DELETE', `/sandboxes/${sb.id}`);
});
