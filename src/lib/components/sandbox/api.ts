// The dashboard's browser-side calls to the REST API: same origin, session cookie, JSON.

/** A non-2xx answer, from the API's error envelope. */
export class ApiRequestError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string
	) {
		super(message);
	}
}

/** Throws ApiRequestError for an error answer (envelope `{error: {code, message}}`). */
export async function ensureOk(res: Response): Promise<Response> {
	if (res.ok) return res;
	let code = 'HTTP_ERROR';
	let message = `${res.status} ${res.statusText}`.trim();
	try {
		const body = (await res.json()) as { error?: { code?: string; message?: string } };
		code = body.error?.code ?? code;
		message = body.error?.message ?? message;
	} catch {
		// not JSON
	}
	throw new ApiRequestError(res.status, code, message.charAt(0).toUpperCase() + message.slice(1));
}

/** `fetch` against /api/v1 with the session cookie; a JSON `body` is serialized. */
export function apiFetch(path: string, init: Omit<RequestInit, 'body'> & { body?: unknown } = {}): Promise<Response> {
	const { body, headers, ...rest } = init;
	return fetch(`/api/v1${path}`, {
		credentials: 'same-origin',
		...rest,
		headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
}

/** An API call answering `{data}`; returns the data. */
export async function apiData<T>(path: string, init: Omit<RequestInit, 'body'> & { body?: unknown } = {}): Promise<T> {
	const res = await ensureOk(await apiFetch(path, init));
	return ((await res.json()) as { data: T }).data;
}

export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
