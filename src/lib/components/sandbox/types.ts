// Shapes the sandbox pages and components share. Type-only imports of the server's DTO builders,
// so the browser bundle gets the types and none of the server code.
import type { toSandboxDto } from '$lib/server/sandboxes/service';
import type { toProcessDto } from '$lib/server/sandboxes/processes';

export type SandboxDto = ReturnType<typeof toSandboxDto>;
export type SandboxState = SandboxDto['state'];
export type ProcessDto = ReturnType<typeof toProcessDto>;

/** What the detail page adds to the DTO for display. */
export interface SandboxView extends SandboxDto {
	template_name: string;
	host_name: string | null;
}

/** One frame of an event stream (`eventFrame` on the server): the event's data spread at the top. */
export interface EventFrame {
	id: string;
	type: string;
	ts: string;
	resource_id: string | null;
	data: Record<string, unknown>;
}

/** Props every tab of the sandbox page receives (see tabs/index.ts). */
export interface SandboxTabProps {
	sandbox: SandboxView;
	/** The page's live event stream (one connection shared by all tabs). */
	events: import('./events.svelte').SandboxEventStream;
}
