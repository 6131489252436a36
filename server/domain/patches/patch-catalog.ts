import { failedPrecondition, notFound } from "../errors.js";
import type { StoreReader } from "../store.js";
import type { Work } from "../unit-of-work.js";
import { DependencyGraph } from "./dependency-graph.js";
import type { PackageRecord, PatchRecord, PatchStateName, RepoState } from "./model.js";
import { computeSnapshot, stateChanges, updateSnapshotForHosts, type HostViews, type PatchStateSnapshot } from "./patch-state.js";
import { desiredSetFor, type DesiredSet } from "./state.js";
import type { SecurityFloorRecord } from "./security-floor.js";

/** What the host side tells the patch side (set by the host manager; empty until agents exist). */
export interface HostsProvider {
  /** Every known host's package view, by hostname (committed state). */
  views(): HostViews;
  anyInstalling(): boolean;
  /** Asks every connected agent for a fresh report (after a repository change). */
  requestReports(): void;
}

const EMPTY_VIEWS: HostViews = { get: () => undefined, values: () => [], size: 0 };
const NO_HOSTS: HostsProvider = { views: () => EMPTY_VIEWS, anyInstalling: () => false, requestReports: () => undefined };

/** What a committed change makes memory adopt (see PatchCatalog.adopt). */
export interface CatalogChange {
  changed?: readonly PatchRecord[];
  deleted?: readonly string[];
  interim?: Map<string, Set<string>>;
  /** The states computed inside the transaction (undefined: recompute from scratch). */
  snapshot?: PatchStateSnapshot;
  /** Only these hosts' reports changed (their desired sets alone are stale). */
  hostOnly?: readonly string[];
  /** The base feeds after the change (replaces them). */
  base?: Map<string, PackageRecord[]>;
  /** FLOOR: release floors the change wrote. */
  floors?: readonly SecurityFloorRecord[];
}

/** "a\n" per line, reference style. */
function lines(items: readonly string[]): string {
  return items.map((l) => `${l}\n`).join("");
}

/**
 * The patch read model: patches, dependency graph, base feeds, releases, interim lists,
 * application dependencies and the patch states, with the queries over them.
 * INVARIANTS: it holds committed state only; it changes only through `adopt*` calls, which the
 * unit of work makes after a commit (never inside a transaction body).
 */
export class PatchCatalog {
  readonly patches = new Map<string, PatchRecord>();
  readonly graph = new DependencyGraph();
  base = new Map<string, PackageRecord[]>();
  releases = new Set<string>();
  interim = new Map<string, Set<string>>();
  appDeps = new Map<string, string[]>();
  /** FLOOR (issue 21): the anti-rollback floor of each release that has one (security-floor.ts). */
  floors = new Map<string, SecurityFloorRecord>();
  hosts: HostsProvider = NO_HOSTS;
  private snapshot: PatchStateSnapshot = { needs: new Map(), states: new Map() };
  private desiredCache = new Map<string, DesiredSet>();
  /** Bumped on every committed change; lets transport cache encoded query answers. */
  version = 0;

  constructor(readonly runningRelease: string) {}

  /** Loads the committed state, replacing what memory held (a pair member re-reads it on each takeover: removals included). */
  async load(read: StoreReader): Promise<void> {
    const patches = await read.loadPatches();
    this.clear();
    for (const p of patches) {
      this.patches.set(p.meta.id, p);
      this.graph.set(p.meta.id, p.meta.requires);
    }
    this.base = await read.loadBasePackages();
    this.releases = new Set(await read.loadReleases());
    this.interim = await read.loadInterim();
    this.appDeps = await read.loadAppDependencies();
    this.floors = new Map((await read.loadSecurityFloors()).map((f) => [f.release, f]));
    this.refreshStates();
  }

  /** Forgets every patch, base package, release, interim list and app dependency (a pair member that lost its term). */
  clear(): void {
    for (const id of this.patches.keys()) this.graph.delete(id);
    this.patches.clear();
    this.base = new Map();
    this.releases = new Set();
    this.interim = new Map();
    this.appDeps = new Map();
    this.snapshot = { needs: new Map(), states: new Map() };
    this.desiredCache.clear();
    this.version++;
  }

  // ---------------------------------------------------------------- queries

  get(id: string): PatchRecord | undefined {
    return this.patches.get(id);
  }

  all(): PatchRecord[] {
    return [...this.patches.values()].sort((a, b) => (a.meta.id < b.meta.id ? -1 : a.meta.id > b.meta.id ? 1 : 0));
  }

  releasesKnown(): string[] {
    return [...this.releases].sort();
  }

  basePackages(release: string): readonly PackageRecord[] {
    return this.base.get(release) ?? [];
  }

  /** query: by repository state ("all" = every one) and release (empty = all). */
  query(filter: "all" | "applied" | "available" | "committed", release = ""): PatchRecord[] {
    const want: RepoState | undefined = filter === "applied" ? "Applied" : filter === "available" ? "Available" : filter === "committed" ? "Committed" : undefined;
    return this.all().filter((p) => (!want || p.repoState === want) && (!release || p.meta.swVersion === release));
  }

  show(ids: readonly string[]): { patches: PatchRecord[]; unrecognized: string[] } {
    const uniq = [...new Set(ids)].sort();
    return {
      patches: uniq.flatMap((id) => (this.patches.has(id) ? [this.patches.get(id)!] : [])),
      unrecognized: uniq.filter((id) => !this.patches.has(id)),
    };
  }

  whatRequires(ids: readonly string[]): { patchId: string; requiredBy: string[] }[] {
    const uniq = [...new Set(ids)].sort();
    this.requireKnown(uniq);
    return uniq.map((id) => ({ patchId: id, requiredBy: this.graph.dependentsOf(id) }));
  }

  /**
   * The ids plus their direct requirements (listed even when not uploaded), or with `recursive` the
   * transitive closure (FAILED_PRECONDITION REQUIRED_PATCH_MISSING when it reaches a patch not uploaded).
   */
  queryDependencies(ids: readonly string[], recursive: boolean): string[] {
    const uniq = [...new Set(ids)];
    const unknownGiven = uniq.filter((id) => !this.patches.has(id)).sort();
    if (unknownGiven.length) throw notFound(lines(unknownGiven.map((id) => `${id} is unrecognized`)).trimEnd(), { reason: "PATCH_NOT_FOUND" });
    const c = this.graph.closure(uniq, recursive, (id) => this.patches.has(id));
    // Direct requirements are listed as the patches name them, uploaded or not (as the reference does);
    // a recursive walk cannot go through a patch that is not uploaded, so it says which one is missing.
    if (recursive && c.unknown.length) {
      throw failedPrecondition(c.unknown.map((id) => `${id} is required by: ${this.graph.dependentsOf(id).join(", ")} but is not uploaded`).join("\n"), {
        reason: "REQUIRED_PATCH_MISSING",
      });
    }
    return c.ids;
  }

  isInState(ids: readonly string[], state: PatchStateName): boolean {
    const uniq = [...new Set(ids)];
    this.requireKnown(uniq);
    return uniq.every((id) => this.patches.get(id)!.patchState === state);
  }

  appDependencies(): { app: string; patchIds: string[] }[] {
    return [...this.appDeps.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([app, patchIds]) => ({ app, patchIds: [...patchIds] }));
  }

  /** Whether the host still has to report after an apply/remove of some patch (interim state). */
  hostInInterim(hostname: string): boolean {
    for (const s of this.interim.values()) if (s.has(hostname)) return true;
    return false;
  }

  /** The desired package set of a host, cached until the next change. */
  desiredFor(host: import("./model.js").HostPackageView): DesiredSet {
    const cached = this.desiredCache.get(host.hostname);
    if (cached) return cached;
    const d = desiredSetFor(host, this.basePackages(host.release), this.patches.values());
    this.desiredCache.set(host.hostname, d);
    return d;
  }

  /**
   * How many hosts of the patches' release would get a different package set if `applying` were
   * in the repository (its packages for their personality, higher versions of what they have),
   * out of how many hosts run that release. A patch that changes none is worth a warning: its
   * packages go to no host (for example a bare RPM, given to patch_build without a personality, that no host has installed).
   */
  hostsChangedBy(applying: readonly PatchRecord[]): { hosts: number; changed: number } {
    const ids = new Set(applying.map((p) => p.meta.id));
    const releases = new Set(applying.map((p) => p.meta.swVersion));
    const after = [...[...this.patches.values()].filter((p) => !ids.has(p.meta.id)), ...applying];
    let hosts = 0;
    let changed = 0;
    for (const host of this.hosts.views().values()) {
      if (!releases.has(host.release)) continue;
      hosts++;
      const before = this.desiredFor(host);
      const next = desiredSetFor(host, this.basePackages(host.release), after);
      const same =
        next.erase.join("\n") === before.erase.join("\n") &&
        next.packages.size === before.packages.size &&
        [...next.packages].every(([name, pkg]) => before.packages.get(name)?.sha256 === pkg.sha256);
      if (!same) changed++;
    }
    return { hosts, changed };
  }

  /** NOT_FOUND "Patch X does not exist" for each unknown id. */
  requireKnown(ids: readonly string[]): void {
    const missing = ids.filter((id) => !this.patches.has(id));
    if (missing.length) throw notFound(missing.map((id) => `Patch ${id} does not exist`).join("\n"), { reason: "PATCH_NOT_FOUND" });
  }

  /** FAILED_PRECONDITION while any host installs. */
  rejectWhileInstalling(): void {
    if (this.hosts.anyInstalling()) throw failedPrecondition("Rejected: One or more nodes are installing patches.", { reason: "HOSTS_INSTALLING" });
  }

  // ---------------------------------------------------------------- states

  /**
   * The states after a repository change (records `changed` replacing or adding to the committed
   * ones), computed from scratch; appends a patch.state event per state that changes.
   */
  async statesAfterChange(w: Work, changed: readonly PatchRecord[], interim = this.interim): Promise<PatchStateSnapshot> {
    const next = new Map(this.patches);
    for (const p of changed) next.set(p.meta.id, p);
    const snap = computeSnapshot({ records: [...next.values()], hosts: this.hosts.views(), interim, basePackages: (r) => this.basePackages(r) });
    await this.stateEvents(w, snap);
    return snap;
  }

  /**
   * The states after a base-feed change (`base` replacing the committed feeds), computed from
   * scratch; appends a patch.state event per state that changes.
   */
  async statesAfterBaseChange(w: Work, base: ReadonlyMap<string, readonly PackageRecord[]>): Promise<PatchStateSnapshot> {
    const snap = computeSnapshot({ records: [...this.patches.values()], hosts: this.hosts.views(), interim: this.interim, basePackages: (r) => base.get(r) ?? [] });
    await this.stateEvents(w, snap);
    return snap;
  }

  /**
   * The states after reports of `hostnames` (their views as `hosts` shows them), recomputing those
   * hosts alone; appends a patch.state event per state that changes.
   */
  async statesAfterReports(w: Work, hosts: HostViews, interim: Map<string, Set<string>>, hostnames: readonly string[]): Promise<PatchStateSnapshot> {
    const inputs = { records: [...this.patches.values()], hosts, interim, basePackages: (r: string) => this.basePackages(r) };
    const snap = updateSnapshotForHosts(this.snapshot, inputs, hostnames);
    await this.stateEvents(w, snap);
    return snap;
  }

  private async stateEvents(w: Work, snap: PatchStateSnapshot): Promise<void> {
    for (const c of stateChanges(this.snapshot.states, snap)) {
      await w.event({ kind: "patch.state", patchId: c.patchId, oldState: c.oldState, newState: c.newState });
    }
  }

  /** Recomputes every state from committed data (start-up, a new hosts provider, deletions). */
  refreshStates(): void {
    this.desiredCache.clear();
    const records = [...this.patches.values()];
    this.snapshot = computeSnapshot({ records, hosts: this.hosts.views(), interim: this.interim, basePackages: (r) => this.basePackages(r) });
    for (const p of records) p.patchState = this.snapshot.states.get(p.meta.id) ?? "n/a";
    this.version++;
  }

  /** Adopts a committed change (called by the unit of work after the commit). */
  adopt(c: CatalogChange): void {
    const changed = c.changed ?? [];
    const deleted = c.deleted ?? [];
    for (const id of deleted) {
      this.patches.delete(id);
      this.graph.delete(id);
      this.interim.delete(id);
    }
    for (const p of changed) {
      this.patches.set(p.meta.id, p);
      this.graph.set(p.meta.id, p.meta.requires);
    }
    if (c.interim) this.interim = c.interim;
    if (c.base) this.base = c.base;
    for (const f of c.floors ?? []) this.floors.set(f.release, f);
    if (!c.snapshot || deleted.length) {
      this.refreshStates();
      return;
    }
    if (c.hostOnly !== undefined && changed.length === 0) for (const h of c.hostOnly) this.desiredCache.delete(h);
    else this.desiredCache.clear();
    const statesBefore = this.snapshot.states;
    this.snapshot = c.snapshot;
    let stateChanged = changed.length > 0;
    if (c.snapshot.states !== statesBefore) {
      for (const [id, st] of c.snapshot.states) {
        const p = this.patches.get(id);
        if (p && p.patchState !== st) {
          p.patchState = st;
          stateChanged = true;
        }
      }
    }
    for (const p of changed) p.patchState = c.snapshot.states.get(p.meta.id) ?? p.patchState;
    // Query answers (cached by version) show patch states only: a report that changes none leaves them valid.
    if (stateChanged || c.hostOnly === undefined) this.version++;
  }

  /** Another committed change of the read model (releases, base feed, app deps): bumps the version. */
  touched(clearDesired = false): void {
    if (clearDesired) this.desiredCache.clear();
    this.version++;
  }
}
