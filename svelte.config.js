import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build' }),
		// CSRF: SvelteKit rejects cross-origin form posts. API clients (SDKs, curl) send no Origin
		// header; server.js marks those so hooks can tell them apart from browsers.
		csrf: { trustedOrigins: [] }
	}
};

export default config;
