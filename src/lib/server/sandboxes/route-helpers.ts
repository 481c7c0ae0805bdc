import type { ApiContext } from '../http/handler';
import { parseId } from '../http/validate';
import { getSandbox, type Actor } from './service';

export const loadSandbox = (ctx: ApiContext) => getSandbox(ctx.principal.organizationId, parseId(ctx.params.id, 'sandbox id'));
export const actorOf = (ctx: ApiContext): Actor => ({ principal: ctx.principal, requestId: ctx.requestId, ip: ctx.event.locals.ip });
