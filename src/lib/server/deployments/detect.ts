// Auto-detection of how to install, build and serve a project (when the publish does not say):
//
//   package.json      install by lockfile (npm ci / yarn / pnpm / npm install) when it has
//                     dependencies; build = `npm run build` when a build script exists; a `start`
//                     script (or a Procfile web line) makes it dynamic (`npm start`, port 3000),
//                     otherwise static from the first of dist/ build/ out/ _site/ public/ . that
//                     holds an index.html
//   requirements.txt  pip install -r requirements.txt; dynamic with a Procfile web line, or
//                     `python3 app.py|main.py` (port 8000); static when it only has index.html
//   index.html        static, served as is
import type { DeployConfig, Sandbox } from '../db/schema';
import { execInSandbox } from '../sandboxes/service';

export interface Detected {
	kind: 'static' | 'dynamic';
	install: string | null;
	build: string | null;
	run: string | null;
	port: number | null;
	/** What was recognized (for the build log). */
	framework: string;
}

const STATIC_DIRS = ['dist', 'build', 'out', '_site', 'public', '.'];

async function sh(sb: Sandbox, command: string) {
	return execInSandbox(sb, { command, cwd: '/workspace', timeout_ms: 30_000, shell: 'bash' } as Parameters<typeof execInSandbox>[1]);
}

const PROBE = String.raw`cd /workspace || exit 3
for f in package.json package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml bun.lockb requirements.txt pyproject.toml Pipfile Procfile index.html app.py main.py server.js; do [ -e "$f" ] && echo "F $f"; done
for d in dist build out _site public; do [ -f "$d/index.html" ] && echo "D $d"; done
command -v pnpm >/dev/null && echo "T pnpm"; command -v yarn >/dev/null && echo "T yarn"; command -v pip3 >/dev/null && echo "T pip3"
if [ -f Procfile ]; then echo "P $(grep -m1 '^web:' Procfile | sed 's/^web:[[:space:]]*//')"; fi
if [ -f package.json ]; then echo "---"; head -c 262144 package.json; fi`;

export async function detectProject(sb: Sandbox, config: DeployConfig, say: (line: string) => void): Promise<Detected> {
	const r = await sh(sb, PROBE);
	const [head, pkgText] = r.stdout.split('\n---\n');
	const files = new Set<string>();
	const dirs = new Set<string>();
	const tools = new Set<string>();
	let procWeb = '';
	for (const line of head.split('\n')) {
		if (line.startsWith('F ')) files.add(line.slice(2));
		else if (line.startsWith('D ')) dirs.add(line.slice(2));
		else if (line.startsWith('T ')) tools.add(line.slice(2));
		else if (line.startsWith('P ')) procWeb = line.slice(2).trim();
	}
	let pkg: { scripts?: Record<string, string>; dependencies?: Record<string, unknown>; devDependencies?: Record<string, unknown> } | null = null;
	if (pkgText !== undefined) {
		try {
			pkg = JSON.parse(pkgText);
		} catch {
			say('package.json is not valid JSON; ignoring it');
		}
	}
	// kind static wins; otherwise kind dynamic, a given run command or a detected one makes it dynamic.
	const isDynamic = (detectedRun: string | null, noStaticEntry = false) =>
		config.kind !== 'static' && (config.kind === 'dynamic' || !!config.run_command || !!detectedRun || noStaticEntry);
	let d: Detected;
	if (pkg) {
		const hasDeps = Object.keys(pkg.dependencies ?? {}).length + Object.keys(pkg.devDependencies ?? {}).length > 0;
		let install: string | null = null;
		if (hasDeps) {
			if (files.has('pnpm-lock.yaml') && tools.has('pnpm')) install = 'pnpm install --frozen-lockfile';
			else if (files.has('yarn.lock') && tools.has('yarn')) install = 'yarn install --frozen-lockfile';
			else if (files.has('package-lock.json') || files.has('npm-shrinkwrap.json')) install = 'npm ci --no-audit --no-fund';
			else install = 'npm install --no-audit --no-fund';
		}
		const scripts = pkg.scripts ?? {};
		const build = scripts.build ? 'npm run build' : null;
		const run = procWeb || (scripts.start ? 'npm start' : files.has('server.js') && !build ? 'node server.js' : null);
		const dynamic = isDynamic(run);
		d = { kind: dynamic ? 'dynamic' : 'static', install, build, run: dynamic ? run : null, port: dynamic ? 3000 : null, framework: 'node' };
	} else if (files.has('requirements.txt') || files.has('pyproject.toml') || files.has('Pipfile')) {
		const install = files.has('requirements.txt') ? 'pip3 install --user -r requirements.txt' : null;
		const run = procWeb || (files.has('app.py') ? 'python3 app.py' : files.has('main.py') ? 'python3 main.py' : null);
		const dynamic = isDynamic(run, !files.has('index.html'));
		d = { kind: dynamic ? 'dynamic' : 'static', install: dynamic ? install : null, build: null, run: dynamic ? run : null, port: dynamic ? 8000 : null, framework: 'python' };
	} else {
		const dynamic = isDynamic(procWeb || null);
		d = { kind: dynamic ? 'dynamic' : 'static', install: null, build: null, run: dynamic ? procWeb || null : null, port: dynamic ? 3000 : null, framework: files.has('index.html') || dirs.size ? 'static' : 'unknown' };
	}
	say(
		`detected: ${d.framework} project → ${d.kind}` +
			(d.install ? `, install \`${d.install}\`` : '') +
			(d.build ? `, build \`${d.build}\`` : '') +
			(d.run ? `, run \`${d.run}\`` : '')
	);
	return d;
}

/** The static output directory after the build: the first candidate with an index.html. */
export async function staticOutputProbe(sb: Sandbox): Promise<string> {
	const r = await sh(sb, `for d in ${STATIC_DIRS.join(' ')}; do [ -f "$d/index.html" ] && { echo "$d"; exit 0; }; done; echo .`);
	return r.stdout.trim().split('\n')[0] || '.';
}
