// Deployment URLs and how requests for them are recognized.
//
//   host form  http://<deployment slug>[--<environment>].<org slug>.apps.<base>[:<port>]/…
//   path form  <control plane origin>/apps/<org slug>/<deployment slug>[--<environment>]/…
//
// <base> follows the preview rules (see previews/config.ts): HANGAR_APPS_DOMAIN when set (a
// wildcard DNS name such as `apps.example.com` pointing at the control plane), else `apps.<host of
// PUBLIC_URL>`, and `apps.localhost` for IP addresses and localhost. Production has no
// environment suffix; `staging` is `<slug>--staging`, `preview/pr-42` is `<slug>--preview-pr-42`.

import { baseOrigin, hostUrlParts, subdomainBase } from '../http/public-origin';

export interface AppTarget {
	form: 'host' | 'path';
	orgSlug: string;
	deploymentSlug: string;
	/** The environment label from the URL ('' = production). */
	envLabel: string;
	/** Path and query to serve (path form: without the prefix). */
	path: string;
	/** Path form: `/apps/<org>/<slug>`; '' for the host form. */
	prefix: string;
	needsSlash: boolean;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_RE = new RegExp(`^(${LABEL})\\.(${LABEL})\\.(.+)$`, 'i');
const PATH_RE = new RegExp(`^/apps/(${LABEL})/(${LABEL})(/.*)?$`, 'i');

export const appsDomain = () => (process.env.HANGAR_APPS_DOMAIN ?? '').trim().replace(/^\.+|\.+$/g, '').toLowerCase();

function splitEnv(label: string): { slug: string; envLabel: string } {
	const i = label.indexOf('--');
	return i > 0 ? { slug: label.slice(0, i), envLabel: label.slice(i + 2) } : { slug: label, envLabel: '' };
}

/** The URL label of an environment: '' for production, else `/` → `-`, lower case. */
export function envLabel(environment: string): string {
	if (environment === 'production') return '';
	return environment
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '-')
		.replace(/^-+|-+$/g, '');
}

export function matchApp(host: string | undefined, url: string | undefined): AppTarget | null {
	const rawUrl = url ?? '/';
	if (host) {
		const hostname = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
		const m = HOST_RE.exec(hostname);
		if (m) {
			const rest = m[3];
			const domain = appsDomain();
			if (domain ? rest === domain : rest === 'apps.localhost' || rest.startsWith('apps.')) {
				const { slug, envLabel } = splitEnv(m[1]);
				return { form: 'host', orgSlug: m[2], deploymentSlug: slug, envLabel, path: rawUrl.startsWith('/') ? rawUrl : `/${rawUrl}`, prefix: '', needsSlash: false };
			}
		}
	}
	if (rawUrl.startsWith('/apps/') && process.env.HANGAR_APPS_PATH_FORM !== '0') {
		const q = rawUrl.indexOf('?');
		const pathname = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
		const search = q >= 0 ? rawUrl.slice(q) : '';
		const m = PATH_RE.exec(pathname);
		if (m) {
			const { slug, envLabel } = splitEnv(m[2].toLowerCase());
			const prefix = `/apps/${m[1].toLowerCase()}/${m[2].toLowerCase()}`;
			return { form: 'path', orgSlug: m[1].toLowerCase(), deploymentSlug: slug, envLabel, path: (m[3] ?? '/') + search, prefix, needsSlash: m[3] === undefined };
		}
	}
	return null;
}

export function appsHostBase(requestOrigin?: string | URL): string {
	return subdomainBase('apps', appsDomain(), requestOrigin);
}

/** Host-form and path-form URLs of a deployment environment (with a trailing slash). */
export function appUrls(orgSlug: string, slug: string, environment = 'production', requestOrigin?: string | URL): { url: string; path_url: string; host: string } {
	const base = baseOrigin(requestOrigin);
	const { portPart, scheme } = hostUrlParts(base, process.env.HANGAR_APPS_ORIGIN_PORT ?? process.env.HANGAR_PREVIEW_ORIGIN_PORT, process.env.HANGAR_APPS_SCHEME ?? process.env.HANGAR_PREVIEW_SCHEME);
	const label = envLabel(environment);
	const first = label ? `${slug}--${label}` : slug;
	const host = `${first}.${orgSlug}.${appsHostBase(requestOrigin)}`;
	return { url: `${scheme}//${host}${portPart}/`, path_url: `${base.origin}/apps/${orgSlug}/${first}/`, host };
}
