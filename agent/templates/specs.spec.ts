import { describe, expect, it } from 'vitest';
import { BUILTIN_TEMPLATES, templateHash } from './specs';

const spec = (id: string) => BUILTIN_TEMPLATES.find((s) => s.id === id)!;

describe('template hashes and the host trust store', () => {
	it("built templates change hash when the host's added CAs change; host templates and hosts without added CAs do not", () => {
		const built = spec('miosa-sandbox');
		expect(templateHash(built, '')).toBe(templateHash(built));
		expect(templateHash(built, 'a'.repeat(64))).not.toBe(templateHash(built));
		expect(templateHash(built, 'a'.repeat(64))).not.toBe(templateHash(built, 'b'.repeat(64)));
		const host = spec('host-minimal');
		expect(templateHash(host, 'a'.repeat(64))).toBe(templateHash(host));
	});
});
