/**
 * The desktop surface under /api/v1/computers/{id}/desktop/*: maps a path + body to one agent
 * desktop action. Coordinates are validated against the computer's screen (422).
 */
import { z } from 'zod';
import type { DesktopAction, DesktopActionResult } from '$lib/protocol';
import type { Computer } from '../db/schema';
import { ApiError, notFound, validationError } from '../http/errors';
import { json } from '../http/respond';
import { parseValue } from '../http/validate';
import { desktopAction, requireRunning, type ActionSource } from './service';

const coord = z.coerce.number().int();
const button = z.enum(['left', 'right', 'middle']).default('left');
const xy = z.object({ x: coord, y: coord });
const optXy = z.object({ x: coord.optional(), y: coord.optional(), button: button.optional() });
const windowRef = z.object({ window_id: z.union([z.string(), z.number()]).transform(String) });

function checkPoint(c: Computer, x: number | undefined, y: number | undefined, field = '') {
	if (x === undefined && y === undefined) return;
	if (x === undefined || y === undefined) throw validationError('x and y go together', { [`${field}x`]: ['x and y go together'] });
	const errs: Record<string, string[]> = {};
	if (x < 0 || x >= c.screenWidth) errs[`${field}x`] = [`must be within 0..${c.screenWidth - 1}`];
	if (y < 0 || y >= c.screenHeight) errs[`${field}y`] = [`must be within 0..${c.screenHeight - 1}`];
	if (Object.keys(errs).length) throw validationError(`(${x}, ${y}) is outside the ${c.screenWidth}x${c.screenHeight} screen`, errs);
}

function png(r: DesktopActionResult, format: string | null): Response {
	const bytes = Buffer.from(r.png_b64 ?? '', 'base64');
	if (format === 'base64' || format === 'json') {
		return json({ image: r.png_b64, data: r.png_b64, format: 'png', media_type: 'image/png', width: r.width, height: r.height, size_bytes: bytes.length });
	}
	return new Response(bytes, {
		headers: { 'content-type': 'image/png', 'content-length': String(bytes.length), 'cache-control': 'no-store', 'x-screen-width': String(r.width), 'x-screen-height': String(r.height), 'x-duration-ms': String(r.duration_ms) }
	});
}

const ok = (extra: Record<string, unknown> = {}) => json({ success: true, ...extra });

function keysOf(body: Record<string, unknown>): string[] {
	if (Array.isArray(body.keys)) return [body.keys.map(String).join('+')];
	if (typeof body.key === 'string' && body.key) return [body.key];
	if (Array.isArray(body.key)) return [body.key.map(String).join('+')];
	throw validationError('key is required', { key: ['required'] });
}

/** Handles one desktop request; `source` says whether a person (live view) or the API acts. */
export async function handleDesktop(c: Computer, method: string, path: string, body: Record<string, unknown>, url: URL, source: ActionSource = 'api'): Promise<Response> {
	const run = (a: DesktopAction) => desktopAction(c, a, source);
	const route = `${method} ${path.replace(/\/+$/, '')}`;
	const q = Object.fromEntries(url.searchParams);
	switch (route) {
		case 'GET screenshot':
		case 'POST screenshot':
			return png(await run({ type: 'screenshot' }), url.searchParams.get('format') ?? (body.format as string | null) ?? null);
		case 'POST screenshot/region':
		case 'GET screenshot/region': {
			const r = parseValue(method === 'GET' ? q : body, z.object({ x: coord, y: coord, width: coord.min(1), height: coord.min(1) }));
			checkPoint(c, r.x, r.y);
			if (r.x + r.width > c.screenWidth || r.y + r.height > c.screenHeight)
				throw validationError(`the region leaves the ${c.screenWidth}x${c.screenHeight} screen`, { width: ['region too large'] });
			return png(await run({ type: 'screenshot', region: r }), url.searchParams.get('format') ?? (body.format as string | null) ?? null);
		}
		case 'POST click':
		case 'POST left-click':
		case 'POST right-click':
		case 'POST middle-click':
		case 'POST double-click':
		case 'POST triple-click': {
			const p = parseValue(body, optXy.extend({ count: z.number().int().min(1).max(3).optional() }));
			checkPoint(c, p.x, p.y);
			const b = path.startsWith('right') ? 'right' : path.startsWith('middle') ? 'middle' : (p.button ?? 'left');
			const count = path.startsWith('double') ? 2 : path.startsWith('triple') ? 3 : (p.count ?? 1);
			const r = await run({ type: 'click', x: p.x, y: p.y, button: b, count });
			return ok({ duration_ms: r.duration_ms });
		}
		case 'POST move':
		case 'POST mouse/move':
		case 'POST move-mouse': {
			const p = parseValue(body, xy);
			checkPoint(c, p.x, p.y);
			return ok({ duration_ms: (await run({ type: 'move', x: p.x, y: p.y })).duration_ms });
		}
		case 'POST mouse-down':
		case 'POST mouse/down':
		case 'POST mouse-up':
		case 'POST mouse/up': {
			const p = parseValue(body, optXy);
			checkPoint(c, p.x, p.y);
			const type = path.includes('down') ? 'mouse_down' : 'mouse_up';
			return ok({ duration_ms: (await run({ type, x: p.x, y: p.y, button: p.button ?? 'left' })).duration_ms });
		}
		case 'POST drag': {
			const p = parseValue(body, z.object({ from_x: coord, from_y: coord, to_x: coord, to_y: coord, button: button.optional() }));
			checkPoint(c, p.from_x, p.from_y, 'from_');
			checkPoint(c, p.to_x, p.to_y, 'to_');
			return ok({ duration_ms: (await run({ type: 'drag', ...p })).duration_ms });
		}
		case 'POST scroll': {
			const p = parseValue(
				body,
				z.object({ direction: z.enum(['up', 'down', 'left', 'right']).default('down'), clicks: z.number().int().min(1).max(100).optional(), amount: z.number().int().min(1).max(100).optional(), x: coord.optional(), y: coord.optional() })
			);
			checkPoint(c, p.x, p.y);
			return ok({ duration_ms: (await run({ type: 'scroll', direction: p.direction, clicks: p.clicks ?? p.amount ?? 3, x: p.x, y: p.y })).duration_ms });
		}
		case 'POST type':
		case 'POST write': {
			const p = parseValue(body, z.object({ text: z.string().max(100_000), delay: z.number().min(0).max(1000).optional(), delay_ms: z.number().min(0).max(1000).optional() }));
			return ok({ duration_ms: (await run({ type: 'type', text: p.text, delay_ms: p.delay_ms ?? p.delay })).duration_ms });
		}
		case 'POST key':
		case 'POST press':
		case 'POST hotkey':
			return ok({ duration_ms: (await run({ type: 'key', keys: keysOf(body) })).duration_ms });
		case 'POST key-down':
		case 'POST key/down':
		case 'POST key-up':
		case 'POST key/up': {
			const k = keysOf(body)[0];
			return ok({ duration_ms: (await run({ type: path.includes('down') ? 'key_down' : 'key_up', key: k })).duration_ms });
		}
		case 'GET clipboard': {
			const r = await run({ type: 'clipboard_get' });
			return json({ text: r.text ?? '', content: r.text ?? '' });
		}
		case 'POST clipboard':
		case 'PUT clipboard': {
			const p = parseValue(body, z.object({ text: z.string().max(1_000_000).optional(), content: z.string().max(1_000_000).optional() }));
			const text = p.text ?? p.content;
			if (text === undefined) throw validationError('text is required', { text: ['required'] });
			return ok({ duration_ms: (await run({ type: 'clipboard_set', text })).duration_ms });
		}
		case 'GET cursor':
		case 'GET cursor-position':
		case 'GET mouse': {
			const r = await run({ type: 'cursor' });
			return json({ x: r.x, y: r.y, normalized: { x: (r.x ?? 0) / c.screenWidth, y: (r.y ?? 0) / c.screenHeight } });
		}
		case 'GET screen':
		case 'GET screen-size':
		case 'GET size':
			await requireRunning(c);
			return json({ width: c.screenWidth, height: c.screenHeight });
		case 'GET windows': {
			const r = await run({ type: 'windows' });
			return json({ windows: r.windows ?? [] });
		}
		case 'POST window/focus':
		case 'POST window/close':
		case 'POST window/minimize':
		case 'POST window/maximize':
		case 'POST window/raise': {
			const p = parseValue(body, windowRef);
			const op = path.split('/')[1] as 'focus' | 'close' | 'minimize' | 'maximize' | 'raise';
			return ok({ duration_ms: (await run({ type: 'window', op, window_id: p.window_id })).duration_ms });
		}
		case 'GET window/size':
		case 'GET window/position':
		case 'GET window': {
			const p = parseValue(q, windowRef);
			const r = await run({ type: 'windows' });
			const w = r.windows?.find((x) => x.id === p.window_id);
			if (!w) throw notFound('window');
			return json(path === 'window/size' ? { width: w.width, height: w.height } : path === 'window/position' ? { x: w.x, y: w.y } : w);
		}
		case 'POST window/size': {
			const p = parseValue(body, windowRef.extend({ width: coord.min(1), height: coord.min(1) }));
			const r = await run({ type: 'window_geometry', window_id: p.window_id, width: p.width, height: p.height });
			return ok({ window: r.window });
		}
		case 'POST window/position':
		case 'POST window/move': {
			const p = parseValue(body, windowRef.extend({ x: coord, y: coord }));
			const r = await run({ type: 'window_geometry', window_id: p.window_id, x: p.x, y: p.y });
			return ok({ window: r.window });
		}
		case 'POST launch':
		case 'POST open': {
			const p = parseValue(body, z.object({ app_name: z.string().optional(), app: z.string().optional(), name: z.string().optional(), args: z.array(z.string()).max(32).optional() }));
			const app = p.app_name ?? p.app ?? p.name;
			if (!app) throw validationError('app_name is required', { app_name: ['required'] });
			const r = await run({ type: 'launch', app, args: p.args });
			return ok({ pid: r.pid });
		}
		case 'POST wait': {
			const p = parseValue(body, z.object({ seconds: z.number().min(0).max(60).optional(), ms: z.number().min(0).max(60_000).optional() }));
			await requireRunning(c);
			const ms = p.ms ?? (p.seconds ?? 1) * 1000;
			await new Promise((r) => setTimeout(r, ms));
			return ok({ waited_ms: ms });
		}
		case 'GET environment':
		case 'GET desktop-environment': {
			const r = await run({ type: 'environment' });
			return json(r.environment ?? {});
		}
		default:
			throw new ApiError(404, 'NOT_FOUND', `no desktop endpoint ${method} ${path}`);
	}
}
