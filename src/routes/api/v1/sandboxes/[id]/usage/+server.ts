import { api } from '$lib/server/http/handler';
import { ok } from '$lib/server/http/respond';
import { hasScope } from '$lib/server/auth/scopes';
import { insufficientScope } from '$lib/server/http/errors';
import { loadSandbox } from '$lib/server/sandboxes/route-helpers';
import { runtimeSec, timeoutRemainingMs } from '$lib/server/sandboxes/service';
import { agentCall } from '$lib/server/hosts/connections';
import { sandboxUsage } from '$lib/server/billing/usage';

/**
 * GET /api/v1/sandboxes/{id}/usage — sandboxes:read or usage:read. `{data:{sandbox_id, state,
 * runtime_sec, provisioned_vcpu_ms, provisioned_memory_mb_ms, creation_count, active_cpu_ms,
 * network_ingress_bytes, network_egress_bytes, measurement_status, estimated_cost_cents,
 * timeout_sec, timeout_remaining_ms}}` plus Hangar's `credits`, `credits_micro` (metered + not yet
 * metered), `metered_credits_micro`, `metered` per dimension and the usage `segments`.
 */
export const GET = api({}, async (ctx) => {
	if (!hasScope(ctx.principal.scopes, 'sandboxes:read') && !hasScope(ctx.principal.scopes, 'usage:read')) throw insufficientScope('sandboxes:read');
	const row = await loadSandbox(ctx);
	let activeCpuMs: number | null = null;
	if ((row.state === 'running' || row.state === 'paused') && row.hostId) {
		try {
			const stats = await agentCall(row.hostId, 'sandbox.stats', { id: row.id }, { timeoutMs: 3000 });
			activeCpuMs = Math.round(stats.cpu_usage_ns / 1e6);
		} catch {
			activeCpuMs = null;
		}
	}
	return ok(await sandboxUsage(row, { runtimeSec: runtimeSec(row), timeoutRemainingMs: timeoutRemainingMs(row), activeCpuMs }));
});
