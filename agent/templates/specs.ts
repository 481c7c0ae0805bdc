import { createHash } from 'node:crypto';
import type { TemplateSpec } from '../../src/lib/protocol/index';

/** Bump when the build recipe changes in a way that should rebuild every template. */
export const RECIPE_VERSION = 1;

const bookworm = { debootstrap: { suite: 'bookworm', variant: 'minbase' as const } };

export const BUILTIN_TEMPLATES: TemplateSpec[] = [
	{
		id: 'host-minimal',
		name: 'Host minimal',
		description:
			"The host's /usr read-only with a generated minimal /etc. No build; for tests and as a fast fallback.",
		base: 'host',
		packages: [],
		commands: [],
		workdir: '/workspace'
	},
	{
		id: 'miosa-sandbox',
		name: 'MIOSA sandbox',
		description: 'Debian bookworm with bash, coreutils, git, curl, Python 3, Node.js, npm and build tools.',
		base: bookworm,
		packages: [
			'bash',
			'coreutils',
			'git',
			'curl',
			'ca-certificates',
			'python3',
			'python3-venv',
			'nodejs',
			'npm',
			'build-essential',
			'procps',
			'iproute2'
		],
		commands: [],
		workdir: '/workspace'
	},
	{
		id: 'python',
		name: 'Python',
		description: 'Debian bookworm with Python 3, venv and pip.',
		base: bookworm,
		packages: ['bash', 'ca-certificates', 'curl', 'python3', 'python3-venv', 'python3-pip', 'procps'],
		commands: [],
		workdir: '/workspace'
	},
	{
		id: 'desktop-host',
		name: 'Desktop (host)',
		description:
			"A Linux desktop (Xvnc, xfwm4, xterm, xdotool) from the host's /usr read-only with our own /etc. Needs the desktop packages on the host; no build.",
		base: 'host',
		packages: [],
		commands: [],
		workdir: '/home/user',
		env: { NO_AT_BRIDGE: '1' }
	},
	{
		id: 'desktop',
		name: 'Desktop',
		description: 'Debian bookworm with Xfce, TigerVNC, Chromium, xterm, xdotool, ImageMagick and fonts (built on first use).',
		base: bookworm,
		packages: [
			'bash',
			'ca-certificates',
			'procps',
			'dbus-x11',
			'tigervnc-standalone-server',
			'xfwm4',
			'xfce4-session',
			'xfce4-panel',
			'xfdesktop4',
			'xfce4-terminal',
			'thunar',
			'xterm',
			'xdotool',
			'x11-utils',
			'x11-xserver-utils',
			'xclip',
			'imagemagick',
			'chromium',
			'fonts-dejavu-core',
			'fonts-liberation2',
			'python3',
			'curl'
		],
		commands: [],
		workdir: '/home/user',
		env: { NO_AT_BRIDGE: '1' }
	},
	{
		id: 'node',
		name: 'Node.js',
		description: 'Debian bookworm with Node.js and npm (Debian bookworm ships Node 18).',
		base: bookworm,
		packages: ['bash', 'ca-certificates', 'curl', 'git', 'nodejs', 'npm', 'procps'],
		commands: [],
		workdir: '/workspace'
	}
];

/** Canonical JSON: object keys sorted, no whitespace. */
export function canonicalJson(v: unknown): string {
	if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
	if (v && typeof v === 'object') {
		const o = v as Record<string, unknown>;
		return `{${Object.keys(o)
			.filter((k) => o[k] !== undefined)
			.sort()
			.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
			.join(',')}}`;
	}
	return JSON.stringify(v);
}

/** Content address of a template: sha256 of its canonical spec plus the recipe version. */
/**
 * Content address of a template. `hostTrust` (the digest of the host's locally added CA
 * certificates, copied into built templates) is part of it only when there are any, so a change
 * of the host's trust store rebuilds templates and hosts without local CAs keep their hashes.
 */
export function templateHash(spec: TemplateSpec, hostTrust = ''): string {
	return createHash('sha256')
		.update(canonicalJson(hostTrust && spec.base !== 'host' ? { recipe: RECIPE_VERSION, spec, host_trust: hostTrust } : { recipe: RECIPE_VERSION, spec }))
		.digest('hex');
}
