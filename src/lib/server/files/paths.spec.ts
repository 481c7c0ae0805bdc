import { describe, expect, it } from 'vitest';
import { ApiError } from '../http/errors';
import { allowedPath, baseName, checkPath, dirName, normalizePath } from './paths';

const codeOf = (f: () => unknown) => {
	try {
		f();
		return 'OK';
	} catch (e) {
		return e instanceof ApiError ? `${e.status} ${e.code}` : String(e);
	}
};

describe('file paths', () => {
	it('normalizes lexically from / with /workspace as the base of relative paths', () => {
		expect(normalizePath('a/b.txt')).toBe('/workspace/a/b.txt');
		expect(normalizePath('./a//b/./c/')).toBe('/workspace/a/b/c');
		expect(normalizePath('../../etc/shadow')).toBe('/etc/shadow');
		expect(normalizePath('/../../..')).toBe('/');
		expect(normalizePath('/workspace/x/../../tmp/y')).toBe('/tmp/y');
		expect(normalizePath('~')).toBe('/home/user');
		expect(normalizePath('~/.bashrc')).toBe('/home/user/.bashrc');
		expect(normalizePath('~other')).toBe('/workspace/~other');
		expect(normalizePath('/workspace/new\nline')).toBe('/workspace/new\nline');
	});

	it('refuses unusable input', () => {
		expect(codeOf(() => normalizePath('a\0b'))).toBe('422 VALIDATION_ERROR');
		expect(codeOf(() => normalizePath(''))).toBe('400 MISSING_PARAM');
		expect(codeOf(() => normalizePath(undefined))).toBe('400 MISSING_PARAM');
		expect(codeOf(() => normalizePath(42))).toBe('422 VALIDATION_ERROR');
		expect(codeOf(() => normalizePath('x'.repeat(256)))).toBe('422 VALIDATION_ERROR');
	});

	it('allows writes under the roots only and reads outside /proc, /sys, /dev', () => {
		for (const p of ['/workspace', '/workspace/a', '/home/user/x', '/tmp/y']) expect(allowedPath(p, 'write')).toBe(true);
		for (const p of ['/', '/usr/bin/x', '/etc/passwd', '/workspacex', '/home', '/home/other', '/tmpfoo']) expect(allowedPath(p, 'write')).toBe(false);
		for (const p of ['/', '/etc/passwd', '/usr', '/procfs', '/devices']) expect(allowedPath(p, 'read')).toBe(true);
		for (const p of ['/proc', '/proc/self/environ', '/sys/kernel', '/dev/null']) expect(allowedPath(p, 'read')).toBe(false);
		expect(codeOf(() => checkPath('../../etc/shadow', 'write'))).toBe('403 FORBIDDEN_PATH');
		expect(codeOf(() => checkPath('/workspace/../proc/self/environ', 'read'))).toBe('403 FORBIDDEN_PATH');
		expect(checkPath('../../etc/shadow', 'read')).toBe('/etc/shadow');
	});

	it('splits names', () => {
		expect(baseName('/workspace/a b')).toBe('a b');
		expect(baseName('/')).toBe('/');
		expect(dirName('/workspace/a')).toBe('/workspace');
		expect(dirName('/workspace')).toBe('/');
	});
});
