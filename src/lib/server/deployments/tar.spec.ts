import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarManifestParser } from './tar';

const sha = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');

describe('tar manifest', () => {
	it('indexes a GNU tar made by tar(1): files with hashes, dirs, symlinks, long names, any chunking', () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-spec-'));
		const long = `${'d'.repeat(80)}/${'f'.repeat(120)}.txt`;
		fs.mkdirSync(path.join(dir, 'sub'));
		fs.mkdirSync(path.join(dir, path.dirname(long)), { recursive: true });
		fs.writeFileSync(path.join(dir, 'index.html'), '<h1>hi</h1>');
		fs.writeFileSync(path.join(dir, 'sub/empty'), '');
		const big = crypto.randomBytes(70_000);
		fs.writeFileSync(path.join(dir, 'sub/big.bin'), big);
		fs.writeFileSync(path.join(dir, long), 'long');
		fs.symlinkSync('../index.html', path.join(dir, 'sub/link'));
		const tar = execFileSync('tar', ['--sort=name', '--format=gnu', '-cf', '-', '-C', dir, '.']);
		for (const chunk of [1, 511, 512, 4096, tar.length]) {
			const p = new TarManifestParser();
			for (let i = 0; i < tar.length; i += chunk) p.push(tar.subarray(i, i + chunk));
			const files = p.entries();
			expect(files['index.html']).toMatchObject({ type: 'file', size: 11, sha256: sha('<h1>hi</h1>') });
			expect(files['sub/big.bin']).toMatchObject({ type: 'file', size: 70_000, sha256: sha(big) });
			expect(files['sub/empty']).toMatchObject({ type: 'file', size: 0, sha256: sha('') });
			expect(files['sub/link']).toMatchObject({ type: 'symlink', target: '../index.html' });
			expect(files.sub.type).toBe('dir');
			expect(files[long]).toMatchObject({ type: 'file', sha256: sha('long') });
		}
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it('reads pax path headers (posix format)', () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-spec-'));
		const name = `${'p'.repeat(150)}.txt`;
		fs.writeFileSync(path.join(dir, name), 'pax');
		const tar = execFileSync('tar', ['--format=posix', '-cf', '-', '-C', dir, name]);
		const p = new TarManifestParser();
		p.push(tar);
		expect(p.entries()[name]).toMatchObject({ type: 'file', sha256: sha('pax') });
		fs.rmSync(dir, { recursive: true, force: true });
	});
});
