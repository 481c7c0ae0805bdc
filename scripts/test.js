// `npm test`: every suite, in order — unit, agent (real sandboxes), integration on PGlite and on
// Postgres (when DATABASE_URL is set), end-to-end in Debian's Chromium. Prints "N passed, N failed".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEBIAN_PACKAGES, E2E_PACKAGES, ensureBuilt, ensureDebianPackages, ensureNpmPackages, root } from './lib.js';

const only = process.argv.slice(2); // e.g. `npm test -- unit integration`
const want = (name) => !only.length || only.includes(name);
const results = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-test-'));
const STAGE_TIMEOUT_MS = 25 * 60_000;

ensureNpmPackages();
const hostReady = ensureDebianPackages(DEBIAN_PACKAGES) && process.getuid?.() === 0;
const browserReady = ensureDebianPackages(E2E_PACKAGES);
ensureBuilt();

function vitest(name, project, env = {}) {
	const out = path.join(tmp, `${name}.json`);
	console.log(`\n=== ${name} ===`);
	const r = spawnSync(
		'npx',
		['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
		{ cwd: root, stdio: 'inherit', env: { ...process.env, ...env }, timeout: STAGE_TIMEOUT_MS }
	);
	let passed = 0, failed = 0, skipped = 0;
	try {
		const j = JSON.parse(fs.readFileSync(out, 'utf8'));
		passed = j.numPassedTests;
		failed = j.numFailedTests;
		skipped = j.numPendingTests + (j.numTodoTests ?? 0);
	} catch {
		// No report: the run itself failed (crash, timeout, setup error).
	}
	if (r.status !== 0 && failed === 0) failed = 1;
	results.push({ name, passed, failed, skipped, status: r.status ?? (r.signal ? `killed by ${r.signal}` : 1) });
}

function skip(name, why) {
	console.log(`\n=== ${name} === skipped: ${why}`);
	results.push({ name, passed: 0, failed: 0, skipped: 0, status: 0, note: `skipped: ${why}` });
}

if (want('unit')) vitest('unit', 'unit');

const templateDir = process.env.HANGAR_TEST_TEMPLATE_DIR ?? '/var/tmp/hangar-test-templates';
if (want('agent')) {
	if (hostReady) vitest('agent', 'agent', { HANGAR_TEST_TEMPLATE_DIR: templateDir });
	else skip('agent', 'real sandboxes need root and bubblewrap (see the message above)');
}

if (want('integration')) {
	if (hostReady) {
		vitest('integration (PGlite)', 'integration', { HANGAR_TEST_DB: 'pglite', HANGAR_TEST_TEMPLATE_DIR: templateDir });
		if (process.env.DATABASE_URL) {
			vitest('integration (Postgres)', 'integration', { HANGAR_TEST_DB: 'postgres', HANGAR_TEST_TEMPLATE_DIR: templateDir });
		} else skip('integration (Postgres)', 'DATABASE_URL is not set');
	} else skip('integration', 'the local host agent needs root and bubblewrap');
}

if (want('e2e')) {
	if (browserReady && hostReady) {
		console.log('\n=== e2e (Chromium) ===');
		const out = path.join(tmp, 'e2e.json');
		const r = spawnSync('npx', ['playwright', 'test', '--reporter=list,json'], {
			cwd: root,
			stdio: 'inherit',
			env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_FILE: out, PLAYWRIGHT_JSON_OUTPUT_NAME: out, DATABASE_URL: '' },
			timeout: STAGE_TIMEOUT_MS
		});
		let passed = 0, failed = 0, skipped = 0;
		try {
			const s = JSON.parse(fs.readFileSync(out, 'utf8')).stats;
			passed = s.expected + (s.flaky ?? 0);
			failed = s.unexpected;
			skipped = s.skipped;
		} catch {
			// no report
		}
		if (r.status !== 0 && failed === 0) failed = 1;
		results.push({ name: 'e2e (Chromium)', passed, failed, skipped, status: r.status ?? 1 });
	} else skip('e2e (Chromium)', 'needs /usr/bin/chromium (apt-get install chromium) and the local host agent');
}

console.log('\n=== summary ===');
for (const r of results) {
	console.log(`${r.name.padEnd(24)} ${r.note ?? `${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (exit ${r.status})`}`);
}
const total = results.reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed, skipped: a.skipped + r.skipped }), { passed: 0, failed: 0, skipped: 0 });
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(total.failed > 0 ? 1 : 0);
