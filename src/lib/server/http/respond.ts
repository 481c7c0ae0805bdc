import { ApiError } from './errors';

/** JSON response with the given status. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'content-type': 'application/json', ...headers }
	});
}

/** The canonical single-resource envelope `{data: …}`. */
export const ok = (data: unknown, status = 200) => json({ data }, status);

export function errorBody(err: ApiError, requestId: string) {
	return {
		error: {
			code: err.code,
			message: err.message,
			request_id: requestId,
			...(err.details !== undefined ? { details: err.details } : {})
		},
		request_id: requestId
	};
}

/** Renders any thrown value as the error envelope; unknown errors become INTERNAL_ERROR (logged). */
export function errorResponse(err: unknown, requestId: string): Response {
	if (err instanceof ApiError) {
		return json(errorBody(err, requestId), err.status, { ...(err.headers ?? {}), 'x-request-id': requestId });
	}
	console.error(`[${requestId}] unhandled error`, err);
	const internal = new ApiError(500, 'INTERNAL_ERROR', 'internal error; retry with backoff');
	return json(errorBody(internal, requestId), 500, { 'x-request-id': requestId });
}

export const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
