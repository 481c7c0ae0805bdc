import { randomToken } from './auth/crypto';

/** A URL-safe slug from a display name: lowercase, [a-z0-9-], at most 48 characters. */
export function slugify(name: string): string {
	const s = name
		.normalize('NFKD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '-')
		.replace(/^-+|-+$/g, '')
		.slice(0, 48)
		.replace(/-+$/g, '');
	return s || 'x';
}

export const slugSuffix = () => randomToken(5).slice(0, 6);
