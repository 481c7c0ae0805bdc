/**
 * 'tcp' channels: a byte stream to 127.0.0.1:<port> inside a sandbox (previews).
 *
 * Each channel spawns `hangar-envd tcp`, which enters only the sandbox's network namespace,
 * connects there (to the sandbox's own loopback, so a dev server bound to 127.0.0.1 is reachable)
 * and reports the outcome on fd 3 before relaying stdin/stdout. The channel is accepted only once
 * the connection exists, so "nothing is listening" is an error of `channel.open`
 * (`CONNECTION_REFUSED`) rather than an empty stream. Half-closes pass through both ways.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ChannelKinds } from '../src/lib/protocol/index';
import type { Channel } from '../src/lib/protocol/peer';
import { fault } from './errors';
import type { SandboxManager } from './sandboxes';

const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const LOOPBACK = new Map([
	['127.0.0.1', '127.0.0.1'],
	['localhost', '127.0.0.1'],
	['0.0.0.0', '127.0.0.1'],
	['::1', '::1']
]);
/** Unprivileged identity of the relay after connecting (nobody). */
const RELAY_UID = 65534;

export class TcpRelays {
	private readonly bySandbox = new Map<string, Set<ChildProcess>>();

	constructor(private readonly manager: SandboxManager) {
		manager.onGone.push((sb) => {
			if (sb.id) this.killAll(sb.id);
		});
	}

	/** Open a relay to host:port in the sandbox; resolves once connected. */
	async open(params: ChannelKinds['tcp'], ch: Channel): Promise<void> {
		const port = Number(params?.port);
		if (!Number.isInteger(port) || port < 1 || port > 65535) throw fault('INVALID_PARAMS', 'port must be 1-65535');
		const host = LOOPBACK.get(params.host ?? '127.0.0.1');
		if (!host) throw fault('INVALID_PARAMS', 'host must be a loopback address of the sandbox');
		const sb = this.manager.get(String(params.sandbox_id));
		if (sb.state === 'paused') throw fault('SANDBOX_PAUSED', `sandbox ${params.sandbox_id} is paused`);
		const child = spawn(
			this.manager.o.helper,
			['tcp', '--pid', String(sb.inst.initPid), '--port', String(port), '--host', host, '--uid', String(RELAY_UID), '--gid', String(RELAY_UID), '--report-fd', '3'],
			{ env: { PATH: SYS_PATH }, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] }
		);
		for (const st of child.stdio) (st as Readable | Writable | null)?.on('error', () => undefined);
		let stderr = '';
		(child.stderr as Readable).on('data', (c: Buffer) => {
			if (stderr.length < 2048) stderr += c.toString('utf8');
		});
		const report = child.stdio[3] as Readable;
		const outcome = await new Promise<string>((resolve) => {
			let buf = '';
			report.on('data', (c: Buffer) => (buf += c.toString('utf8')));
			report.on('close', () => resolve(buf.trim()));
			child.once('error', (e) => resolve(`err EIO ${e.message}`));
		});
		if (outcome !== 'ok') {
			child.kill('SIGKILL');
			const m = /^err (\S+) ?(.*)$/.exec(outcome);
			if (m?.[1] === 'ECONNREFUSED') throw fault('CONNECTION_REFUSED', `nothing is listening on port ${port} in the sandbox`);
			throw fault('INTERNAL', `connecting to port ${port} failed: ${m?.[2] || stderr.trim() || 'relay did not start'}`);
		}
		const id = sb.id!;
		let set = this.bySandbox.get(id);
		if (!set) this.bySandbox.set(id, (set = new Set()));
		set.add(child);

		const stdin = child.stdin as Writable;
		const stdout = child.stdout as Readable;
		ch.pipe(stdin); // channel EOF → stdin end → helper half-closes the socket
		stdout.pipe(ch); // socket EOF → stdout end → channel EOF
		const finish = () => {
			set!.delete(child);
			if (!set!.size) this.bySandbox.delete(id);
		};
		child.once('exit', () => {
			finish();
			// The relay is gone (both directions done, an error, or the sandbox went away): once what
			// it wrote has been sent, tear the channel down so the other side stops writing too.
			if (ch.writableFinished || ch.destroyed) ch.destroy();
			else ch.once('finish', () => ch.destroy());
		});
		ch.once('close', () => {
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		});
		ch.on('error', () => child.kill('SIGKILL'));
	}

	killAll(sandboxId: string): void {
		for (const c of this.bySandbox.get(sandboxId) ?? []) c.kill('SIGKILL');
		this.bySandbox.delete(sandboxId);
	}

	count(): number {
		let n = 0;
		for (const s of this.bySandbox.values()) n += s.size;
		return n;
	}
}
