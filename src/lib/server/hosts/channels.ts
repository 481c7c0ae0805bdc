import type { ChannelKind, ChannelKinds } from '$lib/protocol';
import { hub } from './connections';

/** Opens a byte channel to a host's agent (process logs, PTY, TCP, files). */
export function openAgentChannel<K extends ChannelKind>(hostId: string, kind: K, params: ChannelKinds[K], opts?: { timeoutMs?: number; signal?: AbortSignal }) {
	return hub.openChannel(hostId, kind, params, opts);
}
