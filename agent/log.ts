/** Minimal structured logger: one JSON line per record on stderr. HANGAR_LOG=debug|info|warn|error|silent. */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof levels, 'silent'>;

let threshold: number = levels[(process.env.HANGAR_LOG as keyof typeof levels) ?? 'info'] ?? levels.info;

export function setLogLevel(l: keyof typeof levels): void {
	threshold = levels[l];
}

function write(level: Level, msg: string, meta?: Record<string, unknown>): void {
	if (levels[level] < threshold) return;
	const rec = { ts: new Date().toISOString(), level, msg, ...meta };
	process.stderr.write(JSON.stringify(rec) + '\n');
}

export const log = {
	debug: (m: string, meta?: Record<string, unknown>) => write('debug', m, meta),
	info: (m: string, meta?: Record<string, unknown>) => write('info', m, meta),
	warn: (m: string, meta?: Record<string, unknown>) => write('warn', m, meta),
	error: (m: string, meta?: Record<string, unknown>) => write('error', m, meta)
};
