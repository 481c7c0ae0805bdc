// Minimal types for @novnc/novnc 1.7 (it ships none): the parts DesktopView uses.
declare module '@novnc/novnc' {
	export default class RFB extends EventTarget {
		constructor(target: HTMLElement, urlOrChannel: string | WebSocket, options?: { shared?: boolean; credentials?: Record<string, string>; wsProtocols?: string[] });
		viewOnly: boolean;
		scaleViewport: boolean;
		resizeSession: boolean;
		clipViewport: boolean;
		focusOnClick: boolean;
		showDotCursor: boolean;
		background: string;
		qualityLevel: number;
		compressionLevel: number;
		disconnect(): void;
		focus(): void;
		blur(): void;
		sendKey(keysym: number, code: string | null, down?: boolean): void;
		sendCtrlAltDel(): void;
		clipboardPasteFrom(text: string): void;
	}
}
