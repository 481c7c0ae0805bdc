// Where the control plane is reached from outside, and the wildcard host names it serves under
// it (previews: `preview.<host>`, deployments: `apps.<host>`).

const isIp = (h: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':') || /^\[.*\]$/.test(h);

/** PUBLIC_URL, else the origin the request came to. */
export function baseOrigin(requestOrigin?: string | URL): URL {
	const pub = process.env.PUBLIC_URL;
	if (pub) return new URL(pub);
	return new URL(requestOrigin ?? 'http://localhost:3000');
}

/**
 * The parent domain of a family of hosts: `explicit` when set, else `<label>.<public host>`, and
 * `<label>.localhost` for an IP address or localhost (browsers resolve `*.localhost` to loopback).
 */
export function subdomainBase(label: string, explicit: string, requestOrigin?: string | URL): string {
	if (explicit) return explicit;
	const h = baseOrigin(requestOrigin).hostname.toLowerCase();
	return isIp(h) || h === 'localhost' ? `${label}.localhost` : `${label}.${h}`;
}

/** `:port` for URLs on those hosts (an explicit setting wins; '' means none), and the scheme. */
export function hostUrlParts(base: URL, explicitPort: string | undefined, explicitScheme: string | undefined): { portPart: string; scheme: string } {
	const portPart = explicitPort !== undefined ? (explicitPort ? `:${explicitPort}` : '') : base.port ? `:${base.port}` : '';
	const scheme = explicitScheme ? `${explicitScheme.replace(/:$/, '')}:` : base.protocol;
	return { portPart, scheme };
}
