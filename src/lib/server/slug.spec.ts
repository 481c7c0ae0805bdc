import { describe, expect, it } from 'vitest';
import { slugify } from './slug';

describe('slugify', () => {
	it('makes url-safe slugs', () => {
		expect(slugify('Team Alpha!')).toBe('team-alpha');
		expect(slugify('  Ünïcödé  name ')).toBe('unicode-name');
		expect(slugify('***')).toBe('x');
		expect(slugify('a'.repeat(80)).length).toBe(48);
	});
});
