// Hooks the preview proxy into the raw HTTP routes (before SvelteKit, see http/raw.ts) and into
// the WebSocket router; loaded by hooks.server.ts.
import { registerRawRoute } from '../http/raw';
import { matchPreview } from './config';

registerRawRoute({
	name: 'preview proxy',
	match: matchPreview,
	http: async () => (await import('./proxy')).handlePreviewHttp,
	upgrade: async () => (await import('./proxy')).handlePreviewUpgrade
});
