import { api } from '$lib/server/http/handler';
import { json } from '$lib/server/http/respond';
import { requireRunning } from '$lib/server/computers/service';
import { loadComputer } from '$lib/server/computers/route-helpers';
import { execInSandbox } from '$lib/server/sandboxes/service';

/** Launchable apps (names for POST /desktop/launch) and the programs behind them. */
const KNOWN: [name: string, programs: string[]][] = [
	['terminal', ['xterm', 'xfce4-terminal']],
	['browser', ['chromium', 'chromium-browser', 'google-chrome', 'firefox-esr', 'firefox']],
	['files', ['thunar']],
	['editor', ['mousepad', 'gedit']],
	['python3', ['python3']]
];

/** GET /api/v1/computers/{id}/apps — computers:read → `{apps:[{name, program, installed}]}` (also under `data`). */
export const GET = api({ scope: 'computers:read' }, async (ctx) => {
	const { sb } = await requireRunning(await loadComputer(ctx));
	const programs = [...new Set(KNOWN.flatMap(([, p]) => p))];
	const r = await execInSandbox(sb, { command: `for c in ${programs.join(' ')}; do command -v $c >/dev/null && echo $c; done; true`, timeout: 10 });
	const have = new Set(r.stdout.split('\n').filter(Boolean));
	const apps = KNOWN.map(([name, p]) => {
		const program = p.find((x) => have.has(x)) ?? null;
		return { name, program, installed: !!program };
	});
	return json({ apps, data: apps });
});
