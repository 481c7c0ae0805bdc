import { describe, expect, it } from 'vitest';
import { xdoKey } from './desktop';

describe('xdoKey', () => {
	it('maps common key spellings to xdotool names', () => {
		expect(xdoKey('Enter')).toBe('Return');
		expect(xdoKey('ctrl+c')).toBe('ctrl+c');
		expect(xdoKey('Control+Shift+t')).toBe('ctrl+shift+t');
		expect(xdoKey('cmd+a')).toBe('super+a');
		expect(xdoKey('f5')).toBe('F5');
		expect(xdoKey('PageDown')).toBe('Next');
		expect(xdoKey('a')).toBe('a');
	});
});
