import { describe, expect, it } from 'vitest';
import { typeMatcher } from './stream';

describe('typeMatcher', () => {
	it('matches globs across dots and lists', () => {
		const m = typeMatcher('sandbox.*,webhook.test');
		expect(m('sandbox.started')).toBe(true);
		expect(m('sandbox.exec.completed')).toBe(true);
		expect(m('webhook.test')).toBe(true);
		expect(m('computer.started')).toBe(false);
	});
	it('matches everything without a filter and escapes regex characters', () => {
		expect(typeMatcher(null)('x')).toBe(true);
		expect(typeMatcher('a.b')('aXb')).toBe(false);
	});
});
