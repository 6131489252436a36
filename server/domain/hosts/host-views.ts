/** Pure views of a host record shared by the inventory's parts. */
import type { HostPackageView } from "../patches/model.js";
import type { HostRecord } from "./model.js";

/** What query-hosts shows for a host, computed. */
export interface HostStatus extends HostRecord {
  connected: boolean;
  patchCurrent: "Yes" | "No" | "Pending" | "Failed";
  pendingChanges: number;
  interim: boolean;
  allowInsvcPatching: boolean;
  requiresRebootShown: boolean;
  activeController: boolean;
  operational: "enabled" | "disabled";
}

/** Same packages, instances and reboot flag (what patch states and orchestration read). */
export function sameInventory(a: HostRecord, b: HostRecord): boolean {
  if (a.requiresReboot !== b.requiresReboot || a.installed.length !== b.installed.length || a.instances.length !== b.instances.length) return false;
  for (let i = 0; i < a.installed.length; i++) {
    const x = a.installed[i]!;
    const y = b.installed[i]!;
    if (x.name !== y.name || x.epoch !== y.epoch || x.version !== y.version || x.release !== y.release || x.arch !== y.arch) return false;
  }
  return JSON.stringify(a.instances) === JSON.stringify(b.instances);
}

/** The package view of a host record (what patch states and desired sets are computed from). */
export function viewOf(h: HostRecord): HostPackageView {
  const installed = new Map<string, { epoch: string; version: string; release: string; arch: string }>();
  for (const p of h.installed) if (!installed.has(p.name)) installed.set(p.name, { epoch: p.epoch, version: p.version, release: p.release, arch: p.arch });
  return { hostname: h.hostname, release: h.release, personalityKey: h.subfunctions.join("-") || h.personality, installed };
}
