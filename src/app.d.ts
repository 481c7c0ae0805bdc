import type { Principal } from '$lib/server/auth/principal';
import type { ApiError } from '$lib/server/http/errors';
import type { Session, User } from '$lib/server/db/schema';

declare global {
	namespace App {
		interface Locals {
			requestId: string;
			ip: string;
			/** The caller, when a credential was presented and is valid. */
			principal: Principal | null;
			/** Why authentication failed, when a credential was presented and is not valid. */
			authError: ApiError | null;
			user: User | null;
			session: Session | null;
		}
		interface Error {
			message: string;
			requestId?: string;
		}
	}
}

export {};
