import { ApiError } from '../http/errors';

export function parsePid(value: string | undefined): number {
	const n = Number(value);
	if (!Number.isInteger(n) || n < 1 || n > 4_194_304) throw new ApiError(400, 'INVALID_ID', 'pid must be a positive integer');
	return n;
}
