// `npm run bench`: builds if needed, then runs bench/api.mjs against a fresh server.
import { ensureBuilt, ensureNpmPackages, run } from './lib.js';

ensureNpmPackages();
ensureBuilt();
process.exit(run(process.execPath, ['bench/api.mjs', ...process.argv.slice(2)]));
