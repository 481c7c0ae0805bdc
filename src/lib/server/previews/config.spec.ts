import { afterEach, describe, expect, it } from 'vitest';
import { matchPreview, previewUrls } from './config';

const ID = '0b7c6a0e-2f57-4a8e-9c43-1d2e3f4a5b6c';

describe('preview targets', () => {
	afterEach(() => {
		delete process.env.HANGAR_PREVIEW_DOMAIN;
		delete process.env.PUBLIC_URL;
		delete process.env.HANGAR_PREVIEW_PATH_FORM;
	});

	it('host form: <port>-<id>.preview.<anything>, compact ids, ports', () => {
		expect(matchPreview(`3000-${ID}.preview.localhost:5173`, '/a?b=1')).toEqual({ form: 'host', sandboxId: ID, port: 3000, path: '/a?b=1', prefix: '', needsSlash: false });
		expect(matchPreview(`8080-${ID.replace(/-/g, '').toUpperCase()}.preview.example.com`, '/')?.sandboxId).toBe(ID);
		expect(matchPreview(`70000-${ID}.preview.localhost`, '/')).toBeNull();
		expect(matchPreview(`3000-${ID}.apps.example.com`, '/')).toBeNull();
		expect(matchPreview('localhost:3000', '/sandboxes')).toBeNull();
		process.env.HANGAR_PREVIEW_DOMAIN = 'apps.example.com';
		expect(matchPreview(`3000-${ID}.apps.example.com`, '/')?.port).toBe(3000);
	});

	it('path form: /preview/<id>/<port>/…, the slash after the port, off switch', () => {
		expect(matchPreview('localhost:3000', `/preview/${ID}/3000/x/y?q=1`)).toEqual({ form: 'path', sandboxId: ID, port: 3000, path: '/x/y?q=1', prefix: `/preview/${ID}/3000`, needsSlash: false });
		expect(matchPreview('localhost:3000', `/preview/${ID}/3000?q=1`)).toMatchObject({ path: '/?q=1', needsSlash: true });
		expect(matchPreview('localhost:3000', `/preview/${ID}/x/`)).toBeNull();
		process.env.HANGAR_PREVIEW_PATH_FORM = '0';
		expect(matchPreview('localhost:3000', `/preview/${ID}/3000/`)).toBeNull();
	});

	it('urls: preview.localhost for IPs and localhost, preview.<host> otherwise, HANGAR_PREVIEW_DOMAIN wins', () => {
		expect(previewUrls(ID, 3000, 'http://127.0.0.1:3180')).toEqual({ url: `http://3000-${ID}.preview.localhost:3180/`, path_url: `http://127.0.0.1:3180/preview/${ID}/3000/` });
		process.env.PUBLIC_URL = 'https://hangar.example.com';
		expect(previewUrls(ID, 5173, 'http://127.0.0.1:3180').url).toBe(`https://5173-${ID}.preview.hangar.example.com/`);
		process.env.HANGAR_PREVIEW_DOMAIN = 'previews.example.net';
		expect(previewUrls(ID, 5173).url).toBe(`https://5173-${ID}.previews.example.net/`);
	});
});
