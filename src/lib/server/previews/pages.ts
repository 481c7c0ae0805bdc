// Plain HTML pages the preview proxy answers with when it cannot show the app (a browser, often
// inside an iframe, is on the other end: JSON would be useless there).

export interface PageSpec {
	status: number;
	/** Machine-readable reason, also sent as `x-hangar-preview-error`. */
	code: string;
	title: string;
	message: string;
	headers?: Record<string, string>;
	/** Reload the page after this many seconds (a port that is not up yet, a booting sandbox). */
	refresh?: number;
	/** Who answers (default "Hangar preview"; deployments say "Hangar"). */
	brand?: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function errorPage(p: PageSpec): string {
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${p.refresh ? `<meta http-equiv="refresh" content="${p.refresh}">` : ''}
<title>${esc(p.title)} · ${esc(p.brand ?? 'Hangar preview')}</title>
<style>
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f8fafc;color:#0f172a;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}
main{max-width:34rem;margin:2rem;padding:2rem;background:#fff;border:1px solid #e2e8f0;border-radius:12px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
h1{font-size:1.25rem;margin:0 0 .5rem}
p{margin:.5rem 0;color:#334155}
small{color:#64748b}
code{background:#f1f5f9;padding:.1rem .3rem;border-radius:4px}
</style>
</head>
<body>
<main>
<h1>${esc(p.title)}</h1>
<p>${esc(p.message)}</p>
<p><small>${esc(p.brand ?? 'Hangar preview')} · ${p.status} · <code>${esc(p.code)}</code>${p.refresh ? ` · retrying every ${p.refresh} s` : ''}</small></p>
</main>
</body>
</html>
`;
}
