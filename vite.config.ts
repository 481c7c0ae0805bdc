import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig, type Plugin } from 'vite';

/** In `vite dev`, route WebSocket upgrades to the same router server.js uses in production. */
function hangarWebSockets(): Plugin {
	return {
		name: 'hangar-websockets',
		configureServer(server) {
			// Preview and deployment URLs go to the raw routes (registered once hooks load).
			server.middlewares.use((req, res, next) => {
				const preview = (globalThis as Record<symbol, unknown>)[Symbol.for('hangar.raw.http')] as
					| ((req: unknown, res: unknown) => boolean)
					| undefined;
				if (!preview?.(req, res)) next();
			});
			server.httpServer?.on('upgrade', (req, socket, head) => {
				if (req.headers['sec-websocket-protocol'] === 'vite-hmr') return;
				const route = (globalThis as Record<symbol, unknown>)[Symbol.for('hangar.ws.upgrade')] as
					| ((req: unknown, socket: unknown, head: unknown) => boolean)
					| undefined;
				if (route) route(req, socket, head);
			});
		}
	};
}

export default defineConfig({
	plugins: [tailwindcss(), sveltekit(), hangarWebSockets()],
	server: { port: 3000 },
	build: { target: 'node20' },
	ssr: { external: ['node-pty', '@electric-sql/pglite', '@node-rs/argon2', 'postgres', 'ws'] }
});
