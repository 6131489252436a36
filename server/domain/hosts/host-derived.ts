/**
 * What HostManager derives from its host records, kept for as long as the record lives (scale:
 * every strategy step's snapshot reads every host, about four times per stage). Records are
 * replaced on every write, never changed in place, so an entry keyed by a record stays right.
 */
import type { HostPackageView } from "../patches/model.js";
import type { HostViews } from "../patches/patch-state.js";
import { pendingChanges, type DesiredSet } from "../patches/state.js";
import { sameInventory, viewOf, type HostStatus } from "./host-views.js";
import type { HostRecord } from "./model.js";

/**
 * What status() derives from a record that only a new record changes: its package view, and its
 * pending changes against the desired set they were counted for. Records are replaced on every
 * write, never changed, so an entry is right for as long as its record lives (scale: a strategy
 * step's snapshot reads every host, ~4 per stage).
 */
const derived = new WeakMap<HostRecord, Derived>();

export interface Derived {
  view: HostPackageView;
  desired?: DesiredSet;
  pending: number;
  /** The last status listed (listStatuses), frozen, and what it was computed from besides the record. */
  status?: { s: Readonly<HostStatus>; desired: DesiredSet; interim: boolean; connected: boolean; active: string };
}

export function derivedOf(h: HostRecord): Derived {
  let d = derived.get(h);
  if (!d) {
    d = { view: viewOf(h), pending: 0 };
    derived.set(h, d);
  }
  return d;
}

/** What a status depends on besides its record. */
export interface StatusKey {
  desired: DesiredSet;
  interim: boolean;
  connected: boolean;
  active: string;
}

/** The record's last listed status when `key` is what it was computed from, else `compute()` frozen and kept. */
export function cachedStatus(d: Derived, key: StatusKey, compute: () => HostStatus): Readonly<HostStatus> {
  const c = d.status;
  if (c && c.desired === key.desired && c.interim === key.interim && c.connected === key.connected && c.active === key.active) return c.s;
  const s = Object.freeze(compute());
  d.status = { s, ...key };
  return s;
}

/** A map's keys in sorted order, sorted again only when a key came or went. */
export class SortedNames {
  private sorted: string[] = [];
  of(map: ReadonlyMap<string, unknown>): string[] {
    if (this.sorted.length !== map.size || this.sorted.some((n) => !map.has(n))) this.sorted = [...map.keys()].sort((a, b) => (a < b ? -1 : 1));
    return this.sorted;
  }
}

export { sameInventory, viewOf };

/** Host package views over `records` (committed, or with a transaction's changes laid over them). */
export function hostViews(records: ReadonlyMap<string, HostRecord>): HostViews {
  return {
    get: (hostname) => {
      const h = records.get(hostname);
      return h && derivedOf(h).view;
    },
    values: () => [...records.values()].map((h) => derivedOf(h).view),
    get size() {
      return records.size;
    },
  };
}

/**
 * What query-hosts shows for record `h` given its desired set, whether its host is in an interim state, whether its
 * agent is connected and which controller is active (its pending count kept with the record while `desired` stays).
 */
export function computeStatus(h: HostRecord, desired: DesiredSet, interim: boolean, connected: boolean, activeController: string): HostStatus {
  const d = derivedOf(h);
  if (d.desired !== desired) {
    d.desired = desired;
    d.pending = pendingChanges(d.view, desired);
  }
  const pending = d.pending;
  const allowInsvc = desired.rebootRequiredNames.size === 0;
  let patchCurrent: HostStatus["patchCurrent"] = pending === 0 ? "Yes" : "No";
  if (interim) patchCurrent = "Pending";
  if (h.patchFailed) patchCurrent = "Failed";
  return {
    ...h,
    connected,
    // "rebooting" from the reboot request until the agent's next hello, connected or not.
    availability: h.availability === "rebooting" ? "rebooting" : connected ? "available" : "offline",
    patchCurrent,
    pendingChanges: pending,
    interim,
    allowInsvcPatching: allowInsvc,
    requiresRebootShown: h.requiresReboot || (!allowInsvc && pending > 0),
    activeController: h.personality === "controller" && h.hostname === activeController,
    operational: connected ? "enabled" : "disabled",
  };
}
