/**
 * Builds and caches the hangar-envd helper (envd.c) with gcc. The binary is content-addressed
 * (<data>/bin/hangar-envd-<sha256 prefix>) so a changed source rebuilds, and compiled statically
 * because it also runs as pid 1 inside sandboxes whose root is not the host's.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import source from './envd.c?raw';

const run = promisify(execFile);
const building = new Map<string, Promise<string>>();

export const ENVD_SOURCE_HASH = createHash('sha256').update(source).digest('hex').slice(0, 16);

export function ensureEnvd(binDir: string): Promise<string> {
	const out = path.join(binDir, `hangar-envd-${ENVD_SOURCE_HASH}`);
	if (existsSync(out)) return Promise.resolve(out);
	let p = building.get(out);
	if (!p) {
		p = compile(binDir, out).finally(() => building.delete(out));
		building.set(out, p);
	}
	return p;
}

async function compile(binDir: string, out: string): Promise<string> {
	await mkdir(binDir, { recursive: true, mode: 0o755 });
	await chmod(binDir, 0o755);
	const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
	const src = `${tmp}.c`;
	await writeFile(src, source);
	try {
		await run(process.env.CC || 'gcc', ['-O2', '-static', '-Wall', '-o', tmp, src], { timeout: 120_000 });
	} catch (e) {
		const err = e as { stderr?: string; code?: string; message: string };
		if (err.code === 'ENOENT') throw new Error('gcc not found: the agent needs gcc and libc6-dev to build hangar-envd');
		throw new Error(`building hangar-envd failed: ${err.stderr || err.message}`);
	} finally {
		await rm(src, { force: true });
	}
	await chmod(tmp, 0o755);
	await rename(tmp, out);
	return out;
}
