// The sandbox page's tabs. Adding one is one line here: a component taking SandboxTabProps.
// Each tab mounts on first view and then stays mounted (hidden), so a terminal keeps its session.
import type { Component } from 'svelte';
import type { SandboxTabProps } from '../types';
import OverviewTab from './OverviewTab.svelte';
import TerminalTab from '../TerminalTab.svelte';
import FilesTab from '../FilesTab.svelte';
import PreviewsTab from '../PreviewsTab.svelte';
import SnapshotsTab from '../SnapshotsTab.svelte';

export interface SandboxTab {
	/** Also the `?tab=` value in the URL. */
	id: string;
	label: string;
	component: Component<SandboxTabProps>;
}

export const SANDBOX_TABS: SandboxTab[] = [
	{ id: 'overview', label: 'Overview', component: OverviewTab },
	{ id: 'terminal', label: 'Terminal', component: TerminalTab },
	{ id: 'files', label: 'Files', component: FilesTab },
	{ id: 'previews', label: 'Previews', component: PreviewsTab },
	{ id: 'snapshots', label: 'Snapshots', component: SnapshotsTab }
];
