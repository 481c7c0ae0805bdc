import { HandlerError } from '../src/lib/protocol/peer';
import type { ErrorCode } from '../src/lib/protocol/index';

/** An error the agent answers with a protocol error code. */
export class AgentFault extends HandlerError {
	constructor(code: ErrorCode, message: string) {
		super(code, message);
		this.name = 'AgentFault';
	}
}

export const fault = (code: ErrorCode, message: string) => new AgentFault(code, message);
