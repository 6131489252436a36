/**
 * ROLLOUT (issue 20): the host agents' health checks (`sw-patch-agent --health-check`), as their
 * reports last carried them. Kept in memory only: agents send one after every install and every
 * `--health-interval`, so a restarted controller has them again within one interval.
 */
import type { AgentHealthInput, AgentReportInput } from "./agent-types.js";
import type { HostRecord } from "./model.js";

/** Characters of a health check's detail kept. */
export const HEALTH_DETAIL_MAX = 512;

/**
 * hostname → last health check.
 *
 * INVARIANTS: one entry per host that sent a health check; written only by `record` (the agent
 * stream's handler, in report order).
 */
export class AgentHealthBook {
  private readonly byHost = new Map<string, AgentHealthInput>();

  /**
   * Keeps the health a report carries. True when the report carries nothing else new (same
   * packages, instances, reboot flag, state and reason) and the host need not be written for
   * another reason (`mustWrite`: an install runs, the host is in a patch's interim state): the
   * caller then skips the host write.
   */
  record(h: HostRecord, r: AgentReportInput, mustWrite: boolean): boolean {
    if (!r.health) return false;
    this.byHost.set(h.hostname, { ...r.health, detail: r.health.detail.slice(0, HEALTH_DETAIL_MAX) });
    // Agents without a health check (configured: false) are written as before this existed.
    if (mustWrite || !r.health.configured || r.state !== h.agentState || r.installReason !== h.installReason || r.requiresReboot !== h.requiresReboot) return false;
    return JSON.stringify(r.packages) === JSON.stringify(h.installed) && JSON.stringify(r.instances) === JSON.stringify(h.instances);
  }

  /** The host's last health check, if any since the controller started. */
  get(hostname: string): AgentHealthInput | undefined {
    return this.byHost.get(hostname);
  }
}
