import { describe, expect, it } from 'vitest';
import { ApiError } from '../http/errors';
import { parseGroupBy, periodOf } from './usage';

describe('usage query parsing', () => {
	const now = new Date(Date.UTC(2026, 4, 17, 12));
	it('reads group_by keys and their aliases (one or two)', () => {
		expect(parseGroupBy(undefined)).toEqual(['external_user_id']);
		expect(parseGroupBy('workspace_id')).toEqual(['workspace']);
		expect(parseGroupBy('day,resource_type')).toEqual(['day', 'resource_type']);
		expect(() => parseGroupBy('colour')).toThrow(ApiError);
		expect(() => parseGroupBy('day,workspace,project')).toThrow(ApiError);
	});
	it('resolves periods, custom ones from from/to or start/end', () => {
		expect(periodOf({}, '30d', now)).toEqual({ from: new Date(now.getTime() - 30 * 86_400_000), to: now });
		expect(periodOf({ period: 'month-to-date' }, '30d', now).from).toEqual(new Date(Date.UTC(2026, 4, 1)));
		expect(periodOf({ start: '2026-05-01', end: '2026-05-08' }, '30d', now)).toEqual({ from: new Date('2026-05-01'), to: new Date('2026-05-08') });
		expect(periodOf({ period: 'custom', from: '2026-05-01T00:00:00Z' }, '30d', now).to).toEqual(now);
		expect(() => periodOf({ period: 'custom' }, '30d', now)).toThrow(ApiError);
		expect(() => periodOf({ from: '2026-05-09', to: '2026-05-08' }, '30d', now)).toThrow(ApiError);
	});
});
