import { randomUUID } from "node:crypto";
import { failedPrecondition } from "../errors.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { AgentRegistry } from "./agent-registry.js";
import type { InstanceActionName } from "./agent-types.js";
import type { HostManager, HostStatus } from "./host-manager.js";

/**
 * Host administration: lock, unlock (with the agent-performed reboot), reboot, swact, drop-host
 * and instance actions. Writes go through the host inventory (HostManager.writeHost).
 */
export class HostAdmin {
  constructor(private readonly o: { inventory: HostManager; agents: AgentRegistry; uow: UnitOfWork }) {}

  async lock(hostOrIp: string, force: boolean): Promise<HostStatus> {
    const inv = this.o.inventory;
    const h = inv.find(hostOrIp);
    if (h.adminState === "locked") return inv.status(h);
    if (h.personality === "controller" && !force) {
      const others = inv.records().filter((x) => x.personality === "controller" && x.hostname !== h.hostname && x.adminState === "unlocked");
      if (others.length === 0)
        throw failedPrecondition(`Rejected: Can not lock the only unlocked controller ${h.hostname}`, { reason: "LAST_CONTROLLER", hostname: h.hostname });
      if (h.hostname === inv.activeControllerName) {
        throw failedPrecondition(`Rejected: Can not lock an active controller. Swact ${h.hostname} first`, { reason: "ACTIVE_CONTROLLER", hostname: h.hostname });
      }
    }
    await inv.writeHost({ ...h, adminState: "locked" }, { kind: "host.admin", oldState: "unlocked", newState: "locked" });
    this.o.agents.send(h.hostname, { kind: "lockState", locked: true });
    if (h.agentState === "install-rejected") await inv.setAgentState(h.hostname, "idle", "");
    return inv.status(inv.find(h.hostname));
  }

  async unlock(hostOrIp: string): Promise<{ host: HostStatus; rebooting: boolean }> {
    const inv = this.o.inventory;
    const h = inv.find(hostOrIp);
    if (h.adminState === "unlocked") throw failedPrecondition(`Host ${h.hostname} is already unlocked`, { reason: "ALREADY_UNLOCKED", hostname: h.hostname });
    if (inv.runningOperation(h.hostname))
      throw failedPrecondition(`Rejected: Host ${h.hostname} is installing patches`, { reason: "INSTALL_IN_PROGRESS", hostname: h.hostname });
    const rebooting = h.requiresReboot && this.o.agents.connected(h.hostname);
    await inv.writeHost(
      { ...h, adminState: "unlocked", availability: rebooting ? "rebooting" : h.availability },
      { kind: "host.admin", oldState: "locked", newState: "unlocked" },
    );
    this.o.agents.send(h.hostname, { kind: "lockState", locked: false });
    if (rebooting) this.o.agents.send(h.hostname, { kind: "reboot", requestId: randomUUID() });
    return { host: inv.status(inv.find(h.hostname)), rebooting };
  }

  /** Reboots a locked host through its agent (the agent goes offline and comes back). */
  async reboot(hostOrIp: string): Promise<void> {
    const inv = this.o.inventory;
    const h = inv.find(hostOrIp);
    if (h.adminState !== "locked") throw failedPrecondition(`Rejected: Host ${h.hostname} must be locked to reboot`, { reason: "NOT_LOCKED", hostname: h.hostname });
    if (!this.o.agents.connected(h.hostname)) throw failedPrecondition(`Host ${h.hostname} is not connected`, { reason: "HOST_OFFLINE", hostname: h.hostname });
    await inv.writeHost({ ...h, availability: "rebooting" }, { kind: "host.reboot", oldState: "available", newState: "rebooting" });
    this.o.agents.send(h.hostname, { kind: "reboot", requestId: randomUUID() });
  }

  async swact(hostOrIp: string): Promise<string> {
    const inv = this.o.inventory;
    const h = inv.find(hostOrIp);
    if (h.personality !== "controller") throw failedPrecondition(`Rejected: ${h.hostname} is not a controller`, { reason: "NOT_CONTROLLER" });
    if (h.hostname !== inv.activeControllerName) throw failedPrecondition(`Rejected: ${h.hostname} is not the active controller`, { reason: "NOT_ACTIVE" });
    const peer = inv
      .records()
      .find((x) => x.personality === "controller" && x.hostname !== h.hostname && x.adminState === "unlocked" && this.o.agents.connected(x.hostname));
    if (!peer) throw failedPrecondition("Rejected: no standby controller is unlocked and available to take over", { reason: "NO_STANDBY" });
    await this.o.uow.write(async (w) => {
      await w.tx.setControllerState("active_controller", peer.hostname);
      await w.event({ kind: "host.swact", hostname: peer.hostname, oldState: h.hostname, newState: peer.hostname });
      w.afterCommit(() => inv.setActiveController(peer.hostname));
    });
    return peer.hostname;
  }

  /**
   * Asks a host's agent to stop, start, migrate out or take in instances; resolves with the
   * agent's answer (the agent reports its new instance list right after).
   */
  async instanceAction(hostOrIp: string, action: InstanceActionName, uuids: readonly string[], signal?: AbortSignal): Promise<void> {
    const h = this.o.inventory.find(hostOrIp);
    const r = await this.o.agents.instanceAction(h.hostname, action, uuids, signal);
    if (!r.success)
      throw failedPrecondition(`Instance action ${action} on ${h.hostname} failed: ${r.reason}`, { reason: "INSTANCE_ACTION_FAILED", hostname: h.hostname });
  }
}
