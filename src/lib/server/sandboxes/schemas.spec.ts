import { describe, expect, it } from 'vitest';
import { commandOf, sandboxCreateSchema } from './schemas';

describe('commandOf', () => {
	it('quotes argv forms safely', () => {
		expect(commandOf({ command: ['printf', '%s', "it's", 'a b'] })).toBe(`printf %s 'it'\\''s' 'a b'`);
		expect(commandOf({ cmd: 'echo', args: ['$HOME'] })).toBe(`echo '$HOME'`);
		expect(commandOf({ command: 'ls -la' })).toBe('ls -la');
	});
});

describe('sandboxCreateSchema', () => {
	it('accepts cpu/memory/disk only when they match a size', () => {
		expect(sandboxCreateSchema.safeParse({ cpu_count: 2, memory_mb: 4096, disk_size_mb: 10240 }).success).toBe(true);
		expect(sandboxCreateSchema.safeParse({ cpu_count: 3, memory_mb: 4096 }).success).toBe(false);
		expect(sandboxCreateSchema.safeParse({ size: 'xs', cpu_count: 2, memory_mb: 4096 }).success).toBe(false);
	});
});
