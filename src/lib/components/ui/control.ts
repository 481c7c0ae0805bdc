/** Classes shared by text inputs and selects. */
export const controlClass = [
	'block w-full rounded-md border bg-white px-3 text-sm text-slate-900 shadow-xs placeholder:text-slate-400',
	'focus:outline-2 focus:-outline-offset-1 focus:outline-slate-900 disabled:bg-slate-50 disabled:text-slate-500'
].join(' ');

export const controlBorder = (invalid: boolean) => (invalid ? 'border-red-400 focus:outline-red-600' : 'border-slate-300');

/** aria-describedby for a control whose Field shows errors or a hint. */
export const describedBy = (id: string, errors: string[] | null | undefined, hint: string | undefined) =>
	errors?.length ? `${id}-error` : hint ? `${id}-hint` : undefined;
