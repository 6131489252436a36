import type { HostPackageView, PackageRecord, PatchRecord, PatchStateName } from "./model.js";
import { desiredSetFor, hostNeedsPatch, patchStateOf, type DesiredSet } from "./state.js";

/**
 * The patch-state engine (spec 4), pure: no I/O, no clock, and it never mutates its inputs or a
 * snapshot it was given. `computeSnapshot` derives every patch's system-wide state from scratch;
 * `updateSnapshotForHosts` derives the same result from the previous snapshot when only some
 * hosts changed (a report, a new host, a dropped host), recomputing those hosts alone.
 *
 * A snapshot's `needs` maps a patch id to the hosts that still have to change for it (an Applied
 * patch a host has not installed, an Available one it still has); it holds only non-empty sets
 * and only ids of the records. Snapshots share every set and map that did not change with the
 * snapshot they were derived from, so treat them as immutable.
 */

/** The known hosts, looked up by hostname. A `ReadonlyMap<string, HostPackageView>` is one. */
export interface HostViews {
  /** One host's view, undefined when the host is unknown. Its `hostname` equals the key. */
  get(hostname: string): HostPackageView | undefined;
  /** Every known host (only `computeSnapshot` walks them). */
  values(): Iterable<HostPackageView>;
  /** How many hosts are known. */
  readonly size: number;
}

/** What patch states are computed from. */
export interface PatchStateInputs {
  /** Every patch, unique ids; `repoState` is what counts, `patchState` is ignored. Order = order of `states`. */
  readonly records: readonly PatchRecord[];
  /** Every known host. */
  readonly hosts: HostViews;
  /** patch id -> hosts that must report before the patch can leave its Partial state. */
  readonly interim: ReadonlyMap<string, ReadonlySet<string>>;
  /** The base feed of a release (empty for an unknown one). */
  basePackages(release: string): readonly PackageRecord[];
}

/** Every patch's state and the hosts each one still waits for. Immutable. */
export interface PatchStateSnapshot {
  /** patch id -> hosts that still have to change for it (only non-empty sets). */
  readonly needs: ReadonlyMap<string, ReadonlySet<string>>;
  /** patch id -> system-wide state (spec 4), in the order of the inputs' records. */
  readonly states: ReadonlyMap<string, PatchStateName>;
}

/** One patch whose state differs between two snapshots. */
export interface PatchStateChange {
  patchId: string;
  /** "" for a patch the earlier states did not have. */
  oldState: PatchStateName | "";
  newState: PatchStateName;
}

/**
 * The ids of the patches `host` still has to change for, in record order. Its desired set is
 * computed lazily: only an Available patch the host may still have needs it.
 */
export function patchesPendingOn(host: HostPackageView, records: readonly PatchRecord[], basePackages: (release: string) => readonly PackageRecord[]): string[] {
  let desired: DesiredSet | undefined;
  const lazy = () => (desired ??= desiredSetFor(host, basePackages(host.release), records));
  const out: string[] = [];
  for (const p of records) if (hostNeedsPatch(p, host, lazy)) out.push(p.meta.id);
  return out;
}

/** From scratch: every host's needs, then every patch's state. */
export function computeSnapshot(inputs: PatchStateInputs): PatchStateSnapshot {
  const needs = new Map<string, Set<string>>();
  for (const h of inputs.hosts.values()) {
    for (const id of patchesPendingOn(h, inputs.records, inputs.basePackages)) {
      const set = needs.get(id);
      if (set) set.add(h.hostname);
      else needs.set(id, new Set([h.hostname]));
    }
  }
  const states = new Map<string, PatchStateName>();
  const anyHost = inputs.hosts.size > 0;
  for (const p of inputs.records) states.set(p.meta.id, stateOf(p, inputs, anyHost, needs));
  return { needs, states };
}

/**
 * Incremental: `prev` with only `hostnames` recomputed. Each named host's needs are derived
 * again from its current view; a hostname no longer in `inputs.hosts` leaves every set. Sets and
 * maps are copied on write only (a set is copied at most once per call, however many of the
 * named hosts change it); the rest is shared with `prev`. States are recomputed from the new
 * needs, the interim lists and whether any host exists; when none changes the result's `states`
 * is `prev.states` itself, and when nothing changes at all the result is `prev`.
 *
 * Precondition: `prev` was computed from the same records and base feeds; only the named hosts'
 * views, the set of hosts and the interim lists may differ. Then the result equals
 * `computeSnapshot(inputs)`. A repository change (upload, apply, remove, delete, commit,
 * base-feed import) needs `computeSnapshot`.
 */
export function updateSnapshotForHosts(prev: PatchStateSnapshot, inputs: PatchStateInputs, hostnames: Iterable<string>): PatchStateSnapshot {
  let needs: Map<string, ReadonlySet<string>> | undefined;
  /** Sets created by this call: changed in place from then on. */
  const owned = new Set<Set<string>>();
  const writable = (id: string, set: ReadonlySet<string> | undefined): Set<string> => {
    needs ??= new Map(prev.needs);
    if (set && owned.has(set as Set<string>)) return set as Set<string>;
    const copy = new Set(set);
    owned.add(copy);
    needs.set(id, copy);
    return copy;
  };
  for (const hostname of new Set(hostnames)) {
    const h = inputs.hosts.get(hostname);
    const now = new Set(h ? patchesPendingOn(h, inputs.records, inputs.basePackages) : []);
    const current: ReadonlyMap<string, ReadonlySet<string>> = needs ?? prev.needs;
    const leaving: string[] = [];
    for (const [id, set] of current) if (set.has(hostname) && !now.has(id)) leaving.push(id);
    for (const id of leaving) {
      const set = writable(id, current.get(id));
      set.delete(hostname);
      if (set.size === 0) needs!.delete(id);
    }
    for (const id of now) {
      const set = (needs ?? prev.needs).get(id);
      if (!set?.has(hostname)) writable(id, set).add(hostname);
    }
  }
  const nextNeeds = needs ?? prev.needs;
  const states = statesSharing(prev.states, inputs, nextNeeds);
  if (nextNeeds === prev.needs && states === prev.states) return prev;
  return { needs: nextNeeds, states };
}

/**
 * The state changes from `before` to `after`, sorted by patch id. A patch `before` lacks has old
 * state ""; a patch `after` lacks (deleted) is not listed.
 */
export function stateChanges(before: ReadonlyMap<string, PatchStateName>, after: PatchStateSnapshot): PatchStateChange[] {
  if (after.states === before) return [];
  const out: PatchStateChange[] = [];
  for (const [patchId, newState] of after.states) {
    const oldState = before.get(patchId) ?? "";
    if (oldState !== newState) out.push({ patchId, oldState, newState });
  }
  return out.sort((a, b) => (a.patchId < b.patchId ? -1 : a.patchId > b.patchId ? 1 : 0));
}

function stateOf(p: PatchRecord, inputs: PatchStateInputs, anyHost: boolean, needs: ReadonlyMap<string, ReadonlySet<string>>): PatchStateName {
  const id = p.meta.id;
  return patchStateOf(p, anyHost, (inputs.interim.get(id)?.size ?? 0) > 0, needs.get(id)?.size ?? 0);
}

/** Every record's state; `prev` itself when every state equals its entry there. */
function statesSharing(
  prev: ReadonlyMap<string, PatchStateName>,
  inputs: PatchStateInputs,
  needs: ReadonlyMap<string, ReadonlySet<string>>,
): ReadonlyMap<string, PatchStateName> {
  const anyHost = inputs.hosts.size > 0;
  const records = inputs.records;
  let out: Map<string, PatchStateName> | undefined;
  for (let i = 0; i < records.length; i++) {
    const p = records[i]!;
    const st = stateOf(p, inputs, anyHost, needs);
    if (!out && prev.get(p.meta.id) !== st) {
      out = new Map();
      for (let j = 0; j < i; j++) out.set(records[j]!.meta.id, prev.get(records[j]!.meta.id)!);
    }
    out?.set(p.meta.id, st);
  }
  if (out) return out;
  if (prev.size === records.length) return prev;
  return new Map(records.map((p) => [p.meta.id, prev.get(p.meta.id)!]));
}
