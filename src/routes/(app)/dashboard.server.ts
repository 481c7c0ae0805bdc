// Helpers shared by the dashboard's load functions and form actions ((app) and (auth) routes).
import { error, fail, redirect, type RequestEvent } from '@sveltejs/kit';
import type { z } from 'zod';
import { ApiError } from '$lib/server/http/errors';
import type { Principal } from '$lib/server/auth/principal';
import type { AuditActor } from '$lib/server/audit/service';
import type { Page } from '$lib/server/http/pagination';

/** The workspace the person picked in the top bar; pages that create things default to it. */
export const WORKSPACE_COOKIE = 'hangar_ws';

export type FieldErrors = Record<string, string[]>;

/** The signed-in person's principal; actions run without the layout's load, so each one calls this. */
export function requirePrincipal(event: Pick<RequestEvent, 'locals' | 'url'>): Principal {
	if (!event.locals.user) redirect(303, `/login?redirectTo=${encodeURIComponent(event.url.pathname + event.url.search)}`);
	if (!event.locals.principal) error(403, 'This account belongs to no organization.');
	return event.locals.principal;
}

export const isAdmin = (p: Principal) => p.role === 'owner' || p.role === 'admin';

/** Who did it, for audit rows. */
export function actorOf(event: Pick<RequestEvent, 'locals'>, principal: Principal | null = event.locals.principal): AuditActor {
	return {
		principal,
		organizationId: principal?.organizationId ?? '',
		requestId: event.locals.requestId,
		ip: event.locals.ip
	};
}

/** A text field; empty strings count as absent so optional schema fields stay optional. */
export function text(data: FormData, name: string): string | undefined {
	const v = data.get(name);
	if (typeof v !== 'string') return undefined;
	return v.trim() === '' ? undefined : v;
}

/** Zod issues as per-field sentences a person can read under a field. */
export function fieldErrorsOf(err: z.ZodError): FieldErrors {
	const out: FieldErrors = {};
	for (const issue of err.issues) {
		const key = issue.path.length ? String(issue.path[0]) : '_';
		(out[key] ??= []).push(readable(issue));
	}
	return out;
}

function readable(issue: z.ZodError['issues'][number]): string {
	const i = issue as { code: string; origin?: string; minimum?: number | bigint; maximum?: number | bigint; message: string };
	if (i.code === 'invalid_type' && /received undefined/.test(i.message)) return 'Required.';
	if (i.origin === 'string' && i.code === 'too_small' && /^Too small/.test(i.message)) {
		return Number(i.minimum) === 1 ? 'Required.' : `At least ${i.minimum} characters.`;
	}
	if (i.origin === 'string' && i.code === 'too_big' && /^Too big/.test(i.message)) return `At most ${i.maximum} characters.`;
	return sentence(i.message);
}

/** Validates form input; failures become field errors. */
export function parseForm<S extends z.ZodType>(
	schema: S,
	input: unknown
): { ok: true; data: z.infer<S> } | { ok: false; fieldErrors: FieldErrors } {
	const r = schema.safeParse(input);
	return r.success ? { ok: true, data: r.data } : { ok: false, fieldErrors: fieldErrorsOf(r.error) };
}

/** `fail(422, …)` for invalid input, in the house shape: form, message, fieldErrors, …values. */
export function invalid<F extends string, V extends Record<string, unknown>>(form: F, fieldErrors: FieldErrors, values: V, message = 'Please correct the errors below.') {
	return fail(422, { form, message, fieldErrors, ...values });
}

/** `fail(status, …)` with a top-level message only. */
export function failure<F extends string, V extends Record<string, unknown>>(status: number, form: F, message: string, values: V) {
	return fail(status, { form, message, fieldErrors: {} as FieldErrors, ...values });
}

/** Turns a service's ApiError into a form failure; anything else is a bug and propagates. */
export function failFrom<F extends string, V extends Record<string, unknown>>(err: unknown, form: F, values: V) {
	if (!(err instanceof ApiError)) throw err;
	const fields = (err.details as { fields?: FieldErrors } | undefined)?.fields ?? {};
	const fieldErrors: FieldErrors = {};
	for (const [k, msgs] of Object.entries(fields)) fieldErrors[k] = msgs.map(sentence);
	return fail(err.status, { form, message: sentence(err.message), fieldErrors, ...values });
}

/** `?page=` for lists (20 a page). */
export function pageOf(url: URL, pageSize = 20): Page {
	const n = Number(url.searchParams.get('page'));
	const page = Number.isInteger(n) && n >= 1 ? n : 1;
	return { page, pageSize, offset: (page - 1) * pageSize };
}

/** Only same-site paths, so a crafted link cannot send people elsewhere after login. */
export function safePath(value: unknown, fallback: string): string {
	return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : fallback;
}

export function sentence(s: string): string {
	const t = s.trim();
	if (!t) return t;
	const cap = t[0].toUpperCase() + t.slice(1);
	return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}
