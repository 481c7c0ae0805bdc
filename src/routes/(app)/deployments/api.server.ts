// The deployments pages read the REST API (`/api/v1/deployments/**`) with the person's session
// cookie: SvelteKit's server-side fetch of a same-origin path runs the request in process and
// passes the cookie along, so the pages see exactly what the API answers.
import { error } from '@sveltejs/kit';

type Fetch = typeof fetch;

/** GET an API path answering `{data, …}`; a 404 becomes the page's 404, other errors its error. */
export async function apiGet<T>(fetch: Fetch, path: string, notFound = 'Not found'): Promise<T> {
	const res = await fetch(`/api/v1${path}`, { headers: { accept: 'application/json' } });
	if (res.ok) return (await res.json()) as T;
	let message = `${res.status} ${res.statusText}`;
	try {
		const body = (await res.json()) as { error?: { message?: string } };
		if (body.error?.message) message = body.error.message;
	} catch {
		// not JSON
	}
	if (res.status === 404) error(404, notFound);
	error(res.status >= 400 && res.status < 600 ? res.status : 502, message);
}
