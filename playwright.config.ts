import { defineConfig } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// End-to-end tests drive Debian's Chromium (never a downloaded browser) against the built app
// (`npx vite build` first), served by server.js on a fresh PGlite data directory per run.
const PORT = Number(process.env.HANGAR_E2E_PORT ?? 3180);
const baseURL = `http://127.0.0.1:${PORT}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-e2e-'));

export default defineConfig({
	testDir: 'tests/e2e',
	outputDir: 'test-results',
	timeout: 60_000,
	expect: { timeout: 10_000 },
	workers: 1,
	fullyParallel: false,
	retries: 0,
	forbidOnly: true,
	reporter: 'list',
	use: {
		baseURL,
		trace: 'retain-on-failure',
		screenshot: 'only-on-failure',
		launchOptions: {
			executablePath: '/usr/bin/chromium',
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				'--disable-dev-shm-usage'
			]
		}
	},
	webServer: {
		command: 'node server.js',
		// Ready once the local host agent is connected, so sandbox tests never race it.
		url: `${baseURL}/api/v1/health?require=host`,
		reuseExistingServer: false,
		timeout: 120_000,
		stdout: 'ignore',
		stderr: 'pipe',
		env: {
			PORT: String(PORT),
			HOST: '127.0.0.1',
			HANGAR_DATA_DIR: dataDir,
			HANGAR_LOCAL_AGENT: '1',
			HANGAR_DEFAULT_TEMPLATE: 'host-minimal',
			// Empty means unset to the server: e2e always runs on embedded PGlite.
			DATABASE_URL: '',
			// Low enough that tests/e2e/auth.spec.ts can see the login limit trip.
			HANGAR_LOGIN_RATE_LIMIT: '5',
			// Every test signs up its own account from one address.
			HANGAR_SIGNUP_RATE_LIMIT: '100000'
		}
	}
});
