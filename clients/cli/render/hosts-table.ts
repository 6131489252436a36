import { agentStateLabel, patchCurrentLabel, type Host } from "../../sdk/src/index.js";
import { safeText } from "./safe-text.js";
import { center, left } from "./text.js";

/**
 * The Patch Current cell: Failed wins over Pending, which wins over Yes/No (spec 5.4). A host whose
 * agent is not connected shows `Unknown` instead of Pending/Yes/No (what it last reported may no
 * longer hold); a failed install still shows `Failed`.
 */
export function patchCurrentCell(host: Host): string {
  if (host.patchFailed) return "Failed";
  if (!host.connected) return "Unknown";
  if (host.interimState) return "Pending";
  return patchCurrentLabel(host.patchCurrent);
}

/** The State cell: the agent's state, or `offline` while its agent is not connected. */
export function hostStateCell(host: Host): string {
  return host.connected ? agentStateLabel(host.agentState) : "offline";
}

/**
 * The reference query-hosts table (spec 5.4): Hostname, IP Address, Patch Current, Reboot
 * Required, Release, State; rows sorted by hostname; hostname and IP left-aligned, the rest
 * centred; headers centred; no trailing blank line. Cells are terminal-safe ({@link safeText}). A host
 * whose agent is gone shows Patch Current `Unknown` and State `offline` (not its last Yes/idle).
 */
export function renderHostsTable(hosts: readonly Host[]): string {
  const rows = [...hosts]
    .sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0))
    .map((h) => ({
      hostname: safeText(h.hostname),
      ip: safeText(h.ip),
      current: patchCurrentCell(h),
      rr: h.requiresReboot ? "Yes" : "No",
      release: safeText(h.release),
      state: hostStateCell(h),
    }));
  const w = {
    hostname: Math.max("Hostname".length, ...rows.map((r) => r.hostname.length)),
    ip: Math.max("IP Address".length, ...rows.map((r) => r.ip.length)),
    current: "Patch Current".length,
    rr: "Reboot Required".length,
    release: Math.max("Release".length, ...rows.map((r) => r.release.length)),
    state: Math.max("State".length, ...rows.map((r) => r.state.length)),
  };
  const line = (cells: string[]) => cells.join("  ") + "\n";
  let out = line([
    center("Hostname", w.hostname),
    center("IP Address", w.ip),
    center("Patch Current", w.current),
    center("Reboot Required", w.rr),
    center("Release", w.release),
    center("State", w.state),
  ]);
  out += line([w.hostname, w.ip, w.current, w.rr, w.release, w.state].map((n) => "=".repeat(n)));
  for (const r of rows) {
    out += line([
      left(r.hostname, w.hostname),
      left(r.ip, w.ip),
      center(r.current, w.current),
      center(r.rr, w.rr),
      center(r.release, w.release),
      center(r.state, w.state),
    ]);
  }
  return out;
}
