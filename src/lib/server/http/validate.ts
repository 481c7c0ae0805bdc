import { z } from 'zod';
import { ApiError, validationError } from './errors';

function fieldErrors(error: z.ZodError): Record<string, string[]> {
	const out: Record<string, string[]> = {};
	for (const issue of error.issues) {
		const key = issue.path.length ? issue.path.join('.') : '_';
		(out[key] ??= []).push(issue.message);
	}
	return out;
}

/** JSON bodies are capped well below the adapter's limit (which raw uploads need to be large). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** Reads a body as text, answering 413 PAYLOAD_TOO_LARGE past `max` bytes without buffering more. */
export async function readText(request: Request, max = MAX_JSON_BYTES): Promise<string> {
	const declared = Number(request.headers.get('content-length') ?? '');
	if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
	if (!request.body) return '';
	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { value, done } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > max) {
			await reader.cancel().catch(() => {});
			throw tooLarge(max);
		}
		chunks.push(value);
	}
	return Buffer.concat(chunks).toString('utf8');
}

const tooLarge = (max: number) =>
	new ApiError(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${Math.round(max / 1024 / 1024)} MiB; upload files with PUT /sandboxes/{id}/files/{path}`);

/** Reads a JSON body (an empty body counts as `{}`, as the SDK sends type-less empty POSTs). */
export async function readJson(request: Request): Promise<unknown> {
	const text = await readText(request);
	if (!text.trim()) return {};
	const type = request.headers.get('content-type') ?? '';
	try {
		// Lenient on the declared type: `curl -d '{…}'` labels JSON as a form.
		return JSON.parse(text);
	} catch {
		if (type && !type.includes('json') && !type.startsWith('text/plain')) {
			throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
		}
		throw validationError('the body is not valid JSON', { _: ['invalid JSON'] });
	}
}

/** Parses the JSON body with a zod schema; failures become VALIDATION_ERROR with per-field details. */
export async function parseBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
	return parseValue(await readJson(request), schema, 'invalid request body');
}

export function parseValue<S extends z.ZodType>(value: unknown, schema: S, message = 'invalid input'): z.infer<S> {
	const result = schema.safeParse(value);
	if (!result.success) throw validationError(message, fieldErrors(result.error));
	return result.data;
}

/** Parses query parameters; repeated keys (and `key[]`) become arrays. */
export function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
	const obj: Record<string, string | string[]> = {};
	for (const [rawKey, value] of url.searchParams) {
		const key = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
		const prev = obj[key];
		if (prev === undefined) obj[key] = rawKey.endsWith('[]') ? [value] : value;
		else obj[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
	}
	return parseValue(obj, schema, 'invalid query parameters');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID.test(v);

/** A path id must be a UUID: otherwise 400 INVALID_ID, as the contract says. */
export function parseId(value: string | undefined, what = 'id'): string {
	if (!value || !isUuid(value)) throw new ApiError(400, 'INVALID_ID', `${what} must be a UUID`);
	return value.toLowerCase();
}

export const slugSchema = z
	.string()
	.min(1)
	.max(63)
	.regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'lowercase letters, digits and dashes');

export const metadataSchema = z.record(z.string(), z.unknown());
