import type { ApiContext } from '../http/handler';
import { parseId } from '../http/validate';
import { getComputer } from './service';

export const loadComputer = (ctx: ApiContext) => getComputer(ctx.principal.organizationId, parseId(ctx.params.id, 'computer id'));
