import { expect, test } from '@playwright/test';
import { appReady, screenshot, signUp, uniqueEmail } from './helpers';

test('browse, upload, edit, rename and delete files in the file browser; read them back with the API', async ({ page, baseURL }) => {
	test.setTimeout(120_000);
	await signUp(page, { email: uniqueEmail('files'), organization: 'Files Lab' });
	// Dashboard calls carry the session cookie; same-origin mutations need the Origin header.
	const origin = { origin: baseURL! };
	const created = await page.request.post('/api/v1/sandboxes', { data: { template_id: 'host-minimal', size: 'xs', name: 'files-box' }, headers: origin });
	expect(created.status(), await created.text()).toBe(201);
	const id = (await created.json()).data.id as string;
	const keyRes = await page.request.post('/api/v1/api-keys', { data: { name: 'e2e files' }, headers: origin });
	expect(keyRes.status(), await keyRes.text()).toBe(201);
	const key = (await keyRes.json()).data.key as string;
	const api = (path: string) => fetch(`${baseURL}/api/v1/sandboxes/${id}${path}`, { headers: { authorization: `Bearer ${key}` } });

	await page.goto(`/sandboxes/${id}?tab=files`);
	await appReady(page);
	const tab = page.getByTestId('files-tab');
	await expect(tab.getByRole('navigation', { name: 'Current directory' })).toContainText('workspace');
	await expect(tab.getByText('This folder is empty')).toBeVisible();

	// Upload a text file and a binary one through the file input (raw PUT with the session cookie).
	const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
	await tab.getByTestId('upload-input').setInputFiles([
		{ name: 'hello e2e.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the browser\n') },
		{ name: 'bytes.bin', mimeType: 'application/octet-stream', buffer: binary }
	]);
	const row = (name: string) => tab.locator(`[data-testid="file-row"][data-name="${name}"]`);
	await expect(row('hello e2e.txt')).toBeVisible();
	await expect(row('bytes.bin')).toContainText('256 B');

	// Read them back with the API.
	const text = await api('/files/workspace/hello%20e2e.txt');
	expect(text.status).toBe(200);
	expect(await text.text()).toBe('hello from the browser\n');
	expect(Buffer.from(await (await api('/files/workspace/bytes.bin')).arrayBuffer()).equals(binary)).toBe(true);

	// Open, edit and save the text file.
	await row('hello e2e.txt').getByRole('button', { name: 'hello e2e.txt', exact: true }).click();
	const editor = page.getByTestId('file-editor');
	const area = editor.getByRole('textbox', { name: /Content of/ });
	await expect(area).toHaveValue('hello from the browser\n');
	await area.fill('edited in the dashboard\n');
	await editor.getByRole('button', { name: 'Save' }).click();
	await expect(editor.getByRole('status')).toContainText('Saved');
	expect(await (await api('/files/workspace/hello%20e2e.txt')).text()).toBe('edited in the dashboard\n');
	await editor.getByRole('button', { name: 'Close' }).click();
	// A binary file is not opened as text.
	await row('bytes.bin').getByRole('button', { name: 'bytes.bin', exact: true }).click();
	await expect(page.getByTestId('file-editor')).toContainText('This file is not text');
	await page.getByTestId('file-editor').getByRole('button', { name: 'Close' }).click();

	// New folder, move into it by renaming, navigate with the breadcrumb.
	await tab.getByRole('button', { name: 'New folder' }).click();
	await tab.getByLabel('Folder name').fill('docs');
	await tab.getByRole('button', { name: 'Create' }).click();
	await expect(row('docs')).toBeVisible();
	await row('hello e2e.txt').getByRole('button', { name: 'Rename hello e2e.txt' }).click();
	await tab.getByLabel(/New name for/).fill('renamed.txt');
	await tab.getByRole('button', { name: 'Rename', exact: true }).click();
	await expect(row('renamed.txt')).toBeVisible();
	await expect(row('hello e2e.txt')).toHaveCount(0);
	expect((await api('/files/workspace/renamed.txt')).status).toBe(200);
	await row('docs').getByRole('button', { name: 'docs/', exact: true }).click();
	await expect(tab.getByRole('navigation', { name: 'Current directory' })).toContainText('docs');
	await expect(tab.getByText('This folder is empty')).toBeVisible();
	await tab.getByTestId('upload-input').setInputFiles([{ name: 'inside.md', mimeType: 'text/markdown', buffer: Buffer.from('# inside') }]);
	await expect(row('inside.md')).toBeVisible();
	expect(await (await api('/files/workspace/docs/inside.md')).text()).toBe('# inside');
	await tab.getByRole('navigation', { name: 'Current directory' }).getByRole('button', { name: 'workspace' }).click();
	await expect(row('docs')).toBeVisible();

	// Download links point at the API (a folder comes as a tar).
	await expect(row('docs').getByRole('link', { name: 'Download docs' })).toHaveAttribute('href', `/api/v1/sandboxes/${id}/files/download?path=%2Fworkspace%2Fdocs`);
	const download = page.waitForEvent('download');
	await row('renamed.txt').getByRole('link', { name: 'Download renamed.txt' }).click();
	expect((await download).suggestedFilename()).toBe('renamed.txt');
	await screenshot(page, 'sandbox-files');

	// Delete (after confirming).
	page.once('dialog', (d) => void d.accept());
	await row('bytes.bin').getByRole('button', { name: 'Delete bytes.bin' }).click();
	await expect(row('bytes.bin')).toHaveCount(0);
	expect((await api('/files/workspace/bytes.bin')).status).toBe(404);

	// Changes made through the API show up without a reload.
	await fetch(`${baseURL}/api/v1/sandboxes/${id}/files/write`, {
		method: 'POST',
		headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
		body: JSON.stringify({ path: '/workspace/from-api.txt', content: 'x' })
	});
	await expect(row('from-api.txt')).toBeVisible();

	await page.request.delete(`/api/v1/sandboxes/${id}`, { headers: origin });
});
