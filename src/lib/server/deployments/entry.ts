// Hooks deployment URLs (`<slug>.<org>.apps.<base>`, `/apps/<org>/<slug>/`) into the raw HTTP
// routes (before SvelteKit, see http/raw.ts) and the WebSocket router; loaded by hooks.server.ts.
import { registerRawRoute } from '../http/raw';
import { matchApp } from './config';

registerRawRoute({
	name: 'deployment server',
	match: matchApp,
	http: async () => (await import('./serve')).handleAppHttp,
	upgrade: async () => (await import('./serve')).handleAppUpgrade
});
