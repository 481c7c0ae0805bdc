/** Scopes an API key can carry (contract §1.3 plus Hangar's own resources). `*` grants all. */
export const SCOPES = [
	'sandboxes:read',
	'sandboxes:write',
	'computers:read',
	'computers:write',
	'deployments:read',
	'deployments:write',
	'domains:write',
	'data:write',
	'usage:read',
	// Hangar: quotas and budget alerts written by API keys (credits are added by people).
	'billing:write',
	'audit:read',
	'previews:write',
	'storage:read',
	'storage:write',
	'events:read',
	'webhooks:read',
	'webhooks:write',
	'workspaces:read',
	'workspaces:write',
	'api_keys:read',
	'api_keys:write',
	'hosts:read',
	'hosts:write'
] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** `x:write` implies `x:read`; `*` implies everything. */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
	if (granted.includes('*') || granted.includes(needed)) return true;
	const [resource, action] = needed.split(':');
	return action === 'read' && granted.includes(`${resource}:write`);
}
