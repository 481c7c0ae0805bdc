/** Error codes of the contract (auth-layer lowercase, resource-layer UPPER_SNAKE). */
export type ErrorCode =
	| 'invalid_token'
	| 'insufficient_scope'
	| 'rate_limit_exceeded'
	| 'NOT_FOUND'
	| 'FORBIDDEN'
	| 'INVALID_ID'
	| 'MISSING_PARAM'
	| 'VALIDATION_ERROR'
	| 'CONFLICT'
	| 'IDEMPOTENCY_CONFLICT'
	| 'INTERNAL_ERROR'
	| 'INSUFFICIENT_CREDITS'
	| 'QUOTA_EXCEEDED'
	| 'SANDBOX_NOT_RUNNING'
	| 'SANDBOX_DESTROYED'
	| 'COMPUTER_NOT_RUNNING'
	| 'FORBIDDEN_PATH'
	| 'FILE_TOO_LARGE'
	| 'MISSING_FILE'
	| 'AGENT_UNAVAILABLE'
	| 'NO_CAPACITY'
	| 'invalid_region'
	| 'region_unavailable'
	| 'TEMPLATE_NOT_FOUND'
	| 'METHOD_NOT_ALLOWED'
	| 'PAYLOAD_TOO_LARGE'
	| 'SIGNUP_CLOSED'
	| 'UNSUPPORTED_MEDIA_TYPE'
	| 'TIMEOUT'
	| 'SNAPSHOT_QUOTA_EXCEEDED'
	| 'SNAPSHOT_NOT_READY'
	| 'invalid_scope'
	| 'VERSION_NOT_READY'
	| 'ARTIFACT_GONE'
	| 'UNSUPPORTED';

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: ErrorCode,
		message: string,
		readonly details?: unknown,
		readonly headers?: Record<string, string>
	) {
		super(message);
	}
}

export const notFound = (what = 'resource') => new ApiError(404, 'NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'not allowed') => new ApiError(403, 'FORBIDDEN', message);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'CONFLICT', message, details);
export const invalidToken = (message = 'missing or invalid credentials') =>
	new ApiError(401, 'invalid_token', message);
export const insufficientScope = (scope: string) =>
	new ApiError(403, 'insufficient_scope', `this credential lacks the scope ${scope}`, { required_scope: scope });
export const validationError = (message: string, fields: Record<string, string[]>) =>
	new ApiError(422, 'VALIDATION_ERROR', message, { fields });
