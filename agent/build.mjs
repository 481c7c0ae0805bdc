// Bundles the host agent into build/agent/agent.mjs (node, esm). Native modules stay external.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `import x from './file?raw'` → the file's text (same as Vite). */
const rawPlugin = {
	name: 'raw',
	setup(b) {
		b.onResolve({ filter: /\?raw$/ }, (args) => ({
			path: path.resolve(args.resolveDir, args.path.replace(/\?raw$/, '')),
			namespace: 'raw'
		}));
		b.onLoad({ filter: /.*/, namespace: 'raw' }, async (args) => ({
			contents: await readFile(args.path, 'utf8'),
			loader: 'text'
		}));
	}
};

await build({
	entryPoints: [path.join(root, 'agent/main.ts')],
	outfile: path.join(root, 'build/agent/agent.mjs'),
	bundle: true,
	platform: 'node',
	format: 'esm',
	target: 'node20',
	sourcemap: true,
	legalComments: 'none',
	external: ['node-pty', 'bufferutil', 'utf-8-validate', 'cpu-features', 'ssh2'],
	plugins: [rawPlugin],
	// CJS dependencies (ws) call require() for Node builtins.
	banner: {
		js: "import { createRequire as __hangarCreateRequire } from 'node:module'; const require = __hangarCreateRequire(import.meta.url);"
	},
	logLevel: 'warning'
});
console.log('built build/agent/agent.mjs');
