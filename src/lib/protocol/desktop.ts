// Desktops ("computers"): the agent runs an X desktop inside a sandbox (agent/desktop.ts).
//
// `desktop.start` starts Xvnc on display :1 with a unix socket inside the sandbox (no host port),
// a window manager and a terminal, as supervised processes. `desktop.action` runs one action
// (xdotool, ImageMagick `import`, xclip) inside the sandbox with DISPLAY=:1. The 'vnc' channel
// carries raw RFB bytes to/from the Xvnc socket (the control plane bridges it to noVNC).

export const DESKTOP_DISPLAY = ':1';
/** Path of the Xvnc socket inside the sandbox. */
export const DESKTOP_VNC_SOCKET = '/tmp/.hangar-desktop/vnc.sock';
export const DESKTOP_MAX_DIM = 4096;

export type DesktopSession = 'minimal' | 'xfce';

export interface DesktopStartParams {
	sandbox_id: string;
	width?: number;
	height?: number;
	/** 'minimal' = xfwm4 + xterm (default); 'xfce' = xfce4-session when installed. */
	session?: DesktopSession;
	/** Open a terminal window at start (default true). */
	terminal?: boolean;
	/** Apps to launch once the desktop is up (names as for the launch action). */
	apps?: string[];
}

export type DesktopState = 'starting' | 'running' | 'stopped' | 'failed';

export interface DesktopProcessInfo {
	name: string;
	pid: number | null;
	running: boolean;
	restarts: number;
}

export interface DesktopInfo {
	sandbox_id: string;
	state: DesktopState;
	display: string;
	width: number;
	height: number;
	session: DesktopSession;
	started_at: string | null;
	/** desktop.start → X and VNC socket ready. */
	ready_ms: number | null;
	processes: DesktopProcessInfo[];
	error?: string;
}

export type MouseButton = 'left' | 'right' | 'middle';
export type ScrollDirection = 'up' | 'down' | 'left' | 'right';

export type DesktopAction =
	| { type: 'screenshot'; region?: { x: number; y: number; width: number; height: number } }
	| { type: 'click'; x?: number; y?: number; button?: MouseButton; count?: number }
	| { type: 'move'; x: number; y: number }
	| { type: 'mouse_down'; x?: number; y?: number; button?: MouseButton }
	| { type: 'mouse_up'; x?: number; y?: number; button?: MouseButton }
	| { type: 'drag'; from_x: number; from_y: number; to_x: number; to_y: number; button?: MouseButton }
	| { type: 'scroll'; direction: ScrollDirection; clicks?: number; x?: number; y?: number }
	| { type: 'type'; text: string; delay_ms?: number }
	| { type: 'key'; keys: string[] }
	| { type: 'key_down'; key: string }
	| { type: 'key_up'; key: string }
	| { type: 'clipboard_get' }
	| { type: 'clipboard_set'; text: string }
	| { type: 'cursor' }
	| { type: 'screen_size' }
	| { type: 'windows' }
	| { type: 'window'; op: 'focus' | 'close' | 'minimize' | 'maximize' | 'raise'; window_id: string }
	| { type: 'window_geometry'; window_id: string; x?: number; y?: number; width?: number; height?: number }
	| { type: 'launch'; app: string; args?: string[] }
	| { type: 'environment' };

export interface DesktopWindow {
	id: string;
	title: string;
	x: number;
	y: number;
	width: number;
	height: number;
	is_focused: boolean;
	is_minimized: boolean;
	pid: number | null;
}

export interface DesktopActionResult {
	duration_ms: number;
	png_b64?: string;
	width?: number;
	height?: number;
	x?: number;
	y?: number;
	text?: string;
	windows?: DesktopWindow[];
	window?: DesktopWindow;
	pid?: number;
	environment?: { name: string; version: string | null; window_manager: string; display: string };
}
