import { afterEach, describe, expect, it } from 'vitest';
import { appUrls, envLabel, matchApp } from './config';

describe('deployment URLs', () => {
	afterEach(() => {
		delete process.env.HANGAR_APPS_DOMAIN;
		delete process.env.PUBLIC_URL;
	});

	it('recognizes the host form (production and environments)', () => {
		expect(matchApp('shop.acme.apps.localhost:3000', '/a?b=1')).toMatchObject({ form: 'host', orgSlug: 'acme', deploymentSlug: 'shop', envLabel: '', path: '/a?b=1', prefix: '' });
		expect(matchApp('shop--staging.acme.apps.example.com', '/')).toMatchObject({ deploymentSlug: 'shop', envLabel: 'staging' });
		expect(matchApp('3000-abc.preview.localhost', '/')).toBeNull();
		expect(matchApp('localhost:3000', '/api/v1/health')).toBeNull();
	});

	it('honours HANGAR_APPS_DOMAIN exactly', () => {
		process.env.HANGAR_APPS_DOMAIN = 'sites.example.net';
		expect(matchApp('shop.acme.sites.example.net', '/')).toMatchObject({ deploymentSlug: 'shop' });
		expect(matchApp('shop.acme.apps.localhost', '/')).toBeNull();
	});

	it('recognizes the path form and asks for the trailing slash', () => {
		expect(matchApp('localhost:3000', '/apps/acme/shop/x.css?v=2')).toMatchObject({ form: 'path', prefix: '/apps/acme/shop', path: '/x.css?v=2', needsSlash: false });
		expect(matchApp('localhost:3000', '/apps/acme/shop')).toMatchObject({ needsSlash: true });
		expect(matchApp('localhost:3000', '/apps/acme/shop--preview-pr-42/')).toMatchObject({ deploymentSlug: 'shop', envLabel: 'preview-pr-42' });
		expect(matchApp('localhost:3000', '/apps/acme')).toBeNull();
	});

	it('builds URLs from PUBLIC_URL', () => {
		process.env.PUBLIC_URL = 'https://hangar.example.com';
		expect(appUrls('acme', 'shop')).toEqual({ url: 'https://shop.acme.apps.hangar.example.com/', path_url: 'https://hangar.example.com/apps/acme/shop/', host: 'shop.acme.apps.hangar.example.com' });
		expect(appUrls('acme', 'shop', 'preview/pr-42').url).toBe('https://shop--preview-pr-42.acme.apps.hangar.example.com/');
		expect(envLabel('production')).toBe('');
		expect(envLabel('Preview/PR_42')).toBe('preview-pr-42');
	});
});
