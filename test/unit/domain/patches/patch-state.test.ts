import { expect } from "chai";
import type { HostPackageView, PackageRecord, PatchRecord, PatchStateName, RepoState } from "../../../../server/domain/patches/model.js";
import { computeSnapshot, stateChanges, updateSnapshotForHosts, type PatchStateInputs, type PatchStateSnapshot } from "../../../../server/domain/patches/patch-state.js";
import { compareEvr, computePatchStates, desiredSetFor, pendingChanges, type DesiredSet } from "../../../../server/domain/patches/state.js";
import { prng, type Rng } from "../../../lib/chaos-prng.js";

// ---------------------------------------------------------------- fixtures

type Evr = { epoch: string; version: string; release: string };

function pkg(name: string, evr: Evr): PackageRecord {
  const e = evr.epoch ? `${evr.epoch}:` : "";
  return {
    fileName: `${name}-${e}${evr.version}-${evr.release}.x86_64.rpm`,
    name,
    ...evr,
    arch: "x86_64",
    sha256: `sha-${name}-${e}${evr.version}-${evr.release}`,
    size: 100,
  };
}

const v = (version: string, release = "1", epoch = ""): Evr => ({ epoch, version, release });

function patch(
  id: string,
  packages: PackageRecord[],
  o: {
    release?: string;
    repoState?: RepoState;
    personalities?: Record<string, string[]>;
    rebootRequired?: boolean;
    requires?: string[];
    patchState?: PatchStateName;
  } = {},
): PatchRecord {
  return {
    meta: {
      id,
      swVersion: o.release ?? "R1",
      summary: "",
      description: "",
      installInstructions: "",
      warnings: "",
      status: "REL",
      unremovable: false,
      rebootRequired: o.rebootRequired ?? false,
      applyActiveReleaseOnly: false,
      personalities: o.personalities ?? {},
      contents: packages.map((p) => p.fileName),
      requires: o.requires ?? [],
      semantics: [],
    },
    repoState: o.repoState ?? "Available",
    patchState: o.patchState ?? "n/a",
    metadataXml: "",
    signer: "",
    fileSha256: "",
    uploadedAt: new Date(0),
    packages,
    semantics: [],
  };
}

function host(hostname: string, installed: PackageRecord[], o: { release?: string; personality?: string } = {}): HostPackageView {
  return {
    hostname,
    release: o.release ?? "R1",
    personalityKey: o.personality ?? "controller",
    installed: new Map(installed.map((p) => [p.name, { epoch: p.epoch, version: p.version, release: p.release, arch: p.arch }])),
  };
}

function inputsOf(records: PatchRecord[], hosts: HostPackageView[], interim: Record<string, string[]> = {}, base: PackageRecord[] = []): PatchStateInputs {
  return {
    records,
    hosts: new Map(hosts.map((h) => [h.hostname, h])),
    interim: new Map(Object.entries(interim).map(([id, hs]) => [id, new Set(hs)])),
    basePackages: (release) => (release === "R1" ? base : []),
  };
}

/** A snapshot as plain sorted data: comparable with deep equality and printable. */
function plain(s: PatchStateSnapshot): { needs: Record<string, string[]>; states: Record<string, string> } {
  const needs: Record<string, string[]> = {};
  for (const id of [...s.needs.keys()].sort()) needs[id] = [...s.needs.get(id)!].sort();
  const states: Record<string, string> = {};
  for (const id of [...s.states.keys()].sort()) states[id] = s.states.get(id)!;
  return { needs, states };
}

// ---------------------------------------------------------------- spec-4 examples

describe("patch-state engine: spec-4 states", () => {
  const base = [pkg("a", v("1.0")), pkg("b", v("1.0"))];
  const a2 = pkg("a", v("2.0"));

  it("makes every patch n/a while no host is known, whatever its repository state", () => {
    const recs = [patch("P1", [a2]), patch("P2", [a2], { repoState: "Applied" }), patch("P3", [a2], { repoState: "Committed" })];
    const s = computeSnapshot(inputsOf(recs, [], { P2: ["gone"] }, base));
    expect(Object.fromEntries(s.states)).to.deep.equal({ P1: "n/a", P2: "n/a", P3: "n/a" });
    expect(s.needs.size).to.equal(0);
  });

  it("keeps an Applied patch Partial-Apply while a host has not reported since the apply, even with the package installed", () => {
    const s = computeSnapshot(inputsOf([patch("P1", [a2], { repoState: "Applied" })], [host("h1", [a2, base[1]!])], { P1: ["h1"] }, base));
    expect(s.states.get("P1")).to.equal("Partial-Apply");
    expect(s.needs.has("P1")).to.equal(false);
  });

  it("makes an Applied patch Applied once every host has installed its packages, Partial-Apply while one has not", () => {
    const rec = patch("P1", [a2], { repoState: "Applied" });
    const done = computeSnapshot(inputsOf([rec], [host("h1", [a2, base[1]!]), host("h2", [a2])], {}, base));
    expect(done.states.get("P1")).to.equal("Applied");
    const behind = computeSnapshot(inputsOf([rec], [host("h1", [a2, base[1]!]), host("h2", base)], {}, base));
    expect(behind.states.get("P1")).to.equal("Partial-Apply");
    expect([...behind.needs.get("P1")!]).to.deep.equal(["h2"]);
  });

  it("asks a host for a package it lacks only when the patch lists it for the host's personality", () => {
    const c1 = pkg("c", v("1.0"));
    const notListed = patch("P1", [c1], { repoState: "Applied", personalities: { worker: ["c"] } });
    expect(computeSnapshot(inputsOf([notListed], [host("h1", base)], {}, base)).states.get("P1")).to.equal("Applied");
    const listed = patch("P1", [c1], { repoState: "Applied", personalities: { controller: ["c"] } });
    expect(computeSnapshot(inputsOf([listed], [host("h1", base)], {}, base)).states.get("P1")).to.equal("Partial-Apply");
  });

  it("makes a removed patch Partial-Remove while a host still has its package, Available once it went back to the base feed", () => {
    const rec = patch("P1", [a2]);
    const still = computeSnapshot(inputsOf([rec], [host("h1", [a2, base[1]!])], {}, base));
    expect(still.states.get("P1")).to.equal("Partial-Remove");
    expect([...still.needs.get("P1")!]).to.deep.equal(["h1"]);
    const back = computeSnapshot(inputsOf([rec], [host("h1", base)], {}, base));
    expect(back.states.get("P1")).to.equal("Available");
    expect(computeSnapshot(inputsOf([rec], [host("h1", base)], { P1: ["h1"] }, base)).states.get("P1")).to.equal("Partial-Remove");
  });

  it("does not ask a host to remove a package another applied patch also delivers", () => {
    const recs = [patch("P1", [a2]), patch("P2", [a2], { repoState: "Applied" })];
    const s = computeSnapshot(inputsOf(recs, [host("h1", [a2, base[1]!])], {}, base));
    expect(Object.fromEntries(s.states)).to.deep.equal({ P1: "Available", P2: "Applied" });
  });

  it("keeps a Committed patch Committed with interim hosts and hosts that lack its packages", () => {
    const rec = patch("P1", [a2], { repoState: "Committed" });
    const s = computeSnapshot(inputsOf([rec], [host("h1", base)], { P1: ["h1"] }, base));
    expect(s.states.get("P1")).to.equal("Committed");
    expect(s.needs.size).to.equal(0);
  });

  it("lets a base-feed import change a state (an import is a repository change: computeSnapshot)", () => {
    const rec = patch("P1", [a2]);
    const hosts = [host("h1", [a2, base[1]!])];
    expect(computeSnapshot(inputsOf([rec], hosts, {}, base)).states.get("P1")).to.equal("Partial-Remove");
    expect(computeSnapshot(inputsOf([rec], hosts, {}, [...base, a2])).states.get("P1")).to.equal("Available");
  });

  it("ignores hosts of another release", () => {
    const rec = patch("P1", [a2], { repoState: "Applied", release: "R2" });
    expect(computeSnapshot(inputsOf([rec], [host("h1", base)], {}, base)).states.get("P1")).to.equal("Applied");
  });

  it("ignores the records' own patchState", () => {
    const rec = patch("P1", [a2], { repoState: "Applied", patchState: "Partial-Remove" });
    expect(computeSnapshot(inputsOf([rec], [host("h1", [a2])], {}, base)).states.get("P1")).to.equal("Applied");
  });
});

describe("patch-state engine: incremental updates and changes", () => {
  const base = [pkg("a", v("1.0"))];
  const a2 = pkg("a", v("2.0"));
  const recs = [patch("P2", [a2], { repoState: "Applied" }), patch("P1", [pkg("b", v("1.0"))])];

  it("returns the previous snapshot itself when a report changes nothing", () => {
    const inputs = inputsOf(recs, [host("h1", base), host("h2", [a2])], {}, base);
    const prev = computeSnapshot(inputs);
    expect(updateSnapshotForHosts(prev, inputs, ["h1", "h2", "h1"])).to.equal(prev);
    expect(updateSnapshotForHosts(prev, inputs, [])).to.equal(prev);
  });

  it("recomputes only the named hosts and shares the states map when no state changes", () => {
    const before = inputsOf(recs, [host("h1", base), host("h2", base)], {}, base);
    const prev = computeSnapshot(before);
    expect([...prev.needs.get("P2")!].sort()).to.deep.equal(["h1", "h2"]);
    const after = inputsOf(recs, [host("h1", [a2]), host("h2", base)], {}, base);
    const next = updateSnapshotForHosts(prev, after, ["h1"]);
    expect([...next.needs.get("P2")!]).to.deep.equal(["h2"]);
    expect([...prev.needs.get("P2")!].sort()).to.deep.equal(["h1", "h2"]);
    expect(next.states).to.equal(prev.states);
    expect(stateChanges(prev.states, next)).to.deep.equal([]);
  });

  it("drops a host that is no longer known from every set, and reports the state changes sorted by id", () => {
    const prev = computeSnapshot(inputsOf(recs, [host("h1", base)], {}, base));
    expect(Object.fromEntries(prev.states)).to.deep.equal({ P2: "Partial-Apply", P1: "Available" });
    const next = updateSnapshotForHosts(prev, inputsOf(recs, [], {}, base), ["h1"]);
    expect(next.needs.size).to.equal(0);
    expect(stateChanges(prev.states, next)).to.deep.equal([
      { patchId: "P1", oldState: "Available", newState: "n/a" },
      { patchId: "P2", oldState: "Partial-Apply", newState: "n/a" },
    ]);
    expect(stateChanges(new Map(), next).map((c) => c.oldState)).to.deep.equal(["", ""]);
  });
});

// ---------------------------------------------------------------- property test
//
// 1,000 seeded random histories of 20-40 steps (upload, apply, remove, delete, commit, base-feed
// import, host added, host reports, host dropped) over a small package pool. The World keeps the
// model as the controller does and a snapshot incrementally: host events through
// updateSnapshotForHosts, repository changes through computeSnapshot. After every step the
// snapshot must equal a from-scratch one and computePatchStates (the oracle). A failure names its
// seed and the history; CHAOS_SEED=<seed> reruns that one history alone.

const RELEASES = ["R1", "R1", "R1", "R2"];
const NAMES = ["a", "b", "c", "d", "e"];
const UNRELATED = "z";
const PERSONALITIES = ["controller", "worker", "controller-worker", "storage"];
const HOSTNAMES = ["h1", "h2", "h3", "h4"];
const VERSIONS: Evr[] = [v("1.0"), v("1.0", "2"), v("1.1"), v("1.10"), v("1.9"), v("2.0"), v("0.5", "1", "1")];

/** The controller's model: records in upload order, base feeds, hosts, interim lists. */
class World {
  records = new Map<string, PatchRecord>();
  base = new Map<string, PackageRecord[]>();
  hosts = new Map<string, HostPackageView>();
  interim = new Map<string, Set<string>>();
  snap: PatchStateSnapshot;
  private counter = 0;

  constructor(private readonly rng: Rng) {
    for (const r of ["R1", "R2"])
      this.base.set(
        r,
        NAMES.slice(0, 3).map((n) => pkg(n, v("1.0"))),
      );
    this.snap = computeSnapshot(this.inputs());
  }

  inputs(): PatchStateInputs {
    return { records: [...this.records.values()], hosts: this.hosts, interim: this.interim, basePackages: (r) => this.base.get(r) ?? [] };
  }

  nextId(): string {
    return `P${String(++this.counter).padStart(3, "0")}`;
  }

  /** A copy with a random stale patchState: the engine must ignore it. */
  withRepoState(p: PatchRecord, repoState: RepoState, packages = p.packages): PatchRecord {
    return { ...p, repoState, packages, patchState: this.rng.pick<PatchStateName>(["n/a", "Available", "Applied", "Partial-Apply", "Partial-Remove", "Committed"]) };
  }

  /** Desired sets by host view; a report replaces the view, a repository step clears the cache. */
  desiredCache = new WeakMap<HostPackageView, DesiredSet>();

  desired(h: HostPackageView): DesiredSet {
    let d = this.desiredCache.get(h);
    if (!d) this.desiredCache.set(h, (d = desiredSetFor(h, this.base.get(h.release) ?? [], [...this.records.values()])));
    return d;
  }

  /** apply/remove: every known host must report again (the controller's writeRepoChanges). */
  setInterim(id: string): void {
    if (this.hosts.size) this.interim.set(id, new Set(this.hosts.keys()));
    else this.interim.delete(id);
  }

  /** A report or a drop takes the host off every interim list. */
  leaveInterim(hostname: string): void {
    for (const [id, s] of this.interim) {
      s.delete(hostname);
      if (s.size === 0) this.interim.delete(id);
    }
  }
}

type Step = { kind: "repo" | "hosts"; text: string; hostnames?: string[]; converged?: string[] };

const randomEvr = (rng: Rng) => rng.pick(VERSIONS);

function distinct<T>(rng: Rng, xs: readonly T[], n: number): T[] {
  const pool = [...xs];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(rng.int(pool.length), 1)[0]!);
  return out;
}

function requirementClosure(w: World, id: string): string[] | undefined {
  const seen = new Set([id]);
  const queue = [id];
  for (let i = 0; i < queue.length; i++) {
    const p = w.records.get(queue[i]!);
    if (!p) return undefined;
    for (const r of p.meta.requires)
      if (!seen.has(r)) {
        seen.add(r);
        queue.push(r);
      }
  }
  return [...seen];
}

const STEPS: [number, (w: World, rng: Rng) => Step][] = [
  [4, upload],
  [3, apply],
  [2, remove],
  [1, deletePatch],
  [1, commit],
  [2, addHost],
  [6, report],
  [1, dropHost],
  [1, addBasePackage],
];
const STEP_WEIGHT = STEPS.reduce((n, [w]) => n + w, 0);

function upload(w: World, rng: Rng): Step {
  const id = w.nextId();
  const release = rng.pick(RELEASES);
  const names = distinct(rng, NAMES, rng.range(1, 3));
  const personalities: Record<string, string[]> = {};
  for (const p of PERSONALITIES) if (rng.chance(0.4)) personalities[p] = distinct(rng, names, rng.range(1, names.length));
  const earlier = [...w.records.values()].filter((p) => p.meta.swVersion === release).map((p) => p.meta.id);
  const requires = earlier.length && rng.chance(0.3) ? [rng.pick(earlier)] : [];
  const rec = patch(
    id,
    names.map((n) => pkg(n, randomEvr(rng))),
    { release, personalities, rebootRequired: rng.chance(0.5), requires },
  );
  w.records.set(id, w.withRepoState(rec, "Available"));
  return { kind: "repo", text: `upload ${id} ${release} [${rec.packages.map((p) => p.fileName).join(" ")}] ${JSON.stringify(personalities)} requires=${requires}` };
}

function apply(w: World, rng: Rng): Step {
  const avail = [...w.records.values()].filter((p) => p.repoState === "Available");
  if (!avail.length) return { kind: "repo", text: "apply: nothing available" };
  const id = rng.pick(avail).meta.id;
  const closure = requirementClosure(w, id);
  if (!closure) return { kind: "repo", text: `apply ${id}: refused, a requirement is not uploaded` };
  const list = closure.filter((x) => w.records.get(x)!.repoState === "Available");
  for (const x of list) {
    w.records.set(x, w.withRepoState(w.records.get(x)!, "Applied"));
    w.setInterim(x);
  }
  return { kind: "repo", text: `apply ${list.join(" ")}` };
}

function remove(w: World, rng: Rng): Step {
  const applied = [...w.records.values()].filter((p) => p.repoState === "Applied");
  if (!applied.length) return { kind: "repo", text: "remove: nothing applied" };
  // The patch and every applied patch that requires it, transitively.
  const list = [rng.pick(applied).meta.id];
  for (let i = 0; i < list.length; i++) {
    for (const p of w.records.values()) if (p.repoState !== "Available" && p.meta.requires.includes(list[i]!) && !list.includes(p.meta.id)) list.push(p.meta.id);
  }
  if (list.some((x) => w.records.get(x)!.repoState === "Committed")) return { kind: "repo", text: `remove ${list[0]}: refused, required by a committed patch` };
  for (const x of list) {
    w.records.set(x, w.withRepoState(w.records.get(x)!, "Available"));
    w.setInterim(x);
  }
  return { kind: "repo", text: `remove ${list.join(" ")}` };
}

function deletePatch(w: World, rng: Rng): Step {
  const ok = [...w.records.values()].filter((p) => p.repoState === "Available" && ["Available", "n/a"].includes(w.snap.states.get(p.meta.id)!));
  if (!ok.length) return { kind: "repo", text: "delete: nothing deletable" };
  const id = rng.pick(ok).meta.id;
  w.records.delete(id);
  w.interim.delete(id);
  return { kind: "repo", text: `delete ${id}` };
}

function commit(w: World, rng: Rng): Step {
  const applied = [...w.records.values()].filter((p) => p.repoState === "Applied");
  if (!applied.length) return { kind: "repo", text: "commit: nothing applied" };
  const id = rng.pick(applied).meta.id;
  const closure = requirementClosure(w, id);
  if (!closure) return { kind: "repo", text: `commit ${id}: refused, a requirement is not uploaded` };
  const ok = closure.every((x) => {
    const st = w.snap.states.get(x);
    return st === "Applied" || st === "Committed" || (st === "n/a" && w.records.get(x)!.repoState !== "Available");
  });
  if (!ok) return { kind: "repo", text: `commit ${id}: refused, not applied everywhere` };
  // Reclaim as the controller does: per release/name/arch only the highest version stays.
  const best = new Map<string, PackageRecord>();
  for (const x of closure) {
    const p = w.records.get(x)!;
    for (const k of p.packages) {
      const key = `${p.meta.swVersion}|${k.name}|${k.arch}`;
      const cur = best.get(key);
      if (!cur || compareEvr(k, cur) > 0) best.set(key, k);
    }
  }
  for (const x of closure) {
    const p = w.records.get(x)!;
    w.records.set(
      x,
      w.withRepoState(
        p,
        "Committed",
        p.packages.filter((k) => best.get(`${p.meta.swVersion}|${k.name}|${k.arch}`) === k),
      ),
    );
  }
  return { kind: "repo", text: `commit ${closure.sort().join(" ")}` };
}

function addHost(w: World, rng: Rng): Step {
  const free = HOSTNAMES.filter((h) => !w.hosts.has(h));
  if (!free.length) return report(w, rng);
  const name = rng.pick(free);
  const release = rng.pick(RELEASES);
  const installed = (w.base.get(release) ?? []).filter(() => rng.chance(0.8));
  const extras = [...w.records.values()].filter((p) => p.meta.swVersion === release).flatMap((p) => p.packages);
  if (extras.length && rng.chance(0.3)) installed.push(rng.pick(extras));
  const h = host(name, installed, { release, personality: rng.pick(PERSONALITIES) });
  w.hosts.set(name, h);
  return { kind: "hosts", hostnames: [name], text: `host added ${name} ${release} ${h.personalityKey} [${[...h.installed.keys()].join(" ")}]` };
}

function report(w: World, rng: Rng): Step {
  const known = [...w.hosts.keys()];
  if (!known.length) return addHost(w, rng);
  const batch = Array.from({ length: rng.range(1, 3) }, () => rng.pick(known));
  const full = new Map<string, boolean>();
  const texts: string[] = [];
  for (const name of batch) {
    const h = w.hosts.get(name)!;
    const installed = new Map(h.installed);
    const mode = rng.int(10);
    if (mode < 7) {
      const partial = mode >= 5;
      const d = w.desired(h);
      for (const [n, p] of d.packages) if (!partial || rng.chance(0.5)) installed.set(n, { epoch: p.epoch, version: p.version, release: p.release, arch: p.arch });
      for (const n of d.erase) if (!partial || rng.chance(0.5)) installed.delete(n);
      full.set(name, !partial);
      texts.push(`${name}:${partial ? "partial" : "full"}`);
    } else {
      const n = rng.pick([...NAMES, UNRELATED]);
      if (installed.has(n) && rng.chance(0.4)) installed.delete(n);
      else installed.set(n, { ...randomEvr(rng), arch: "x86_64" });
      full.set(name, false);
      texts.push(`${name}:unrelated(${n})`);
    }
    w.hosts.set(name, { ...h, installed });
    w.leaveInterim(name);
  }
  // The last report of a host in the batch is the one that counts.
  const converged = [...full].filter(([, f]) => f).map(([n]) => n);
  return { kind: "hosts", hostnames: batch, converged, text: `report ${texts.join(" ")}` };
}

function dropHost(w: World, rng: Rng): Step {
  const known = [...w.hosts.keys()];
  const name = known.length && rng.chance(0.9) ? rng.pick(known) : "never-known";
  w.hosts.delete(name);
  w.leaveInterim(name);
  return { kind: "hosts", hostnames: [name], text: `host dropped ${name}` };
}

function addBasePackage(w: World, rng: Rng): Step {
  const release = rng.pick(RELEASES);
  const p = pkg(rng.pick([...NAMES, UNRELATED]), randomEvr(rng));
  const feed = w.base.get(release)!;
  if (feed.some((b) => b.fileName === p.fileName)) return { kind: "repo", text: `base ${release} ${p.fileName}: already there` };
  w.base.set(release, [...feed, p]);
  return { kind: "repo", text: `base ${release} + ${p.fileName}` };
}

/** A cheap assertion for the hot loop (chai's per-call cost dominates 30,000 steps); `detail` only on failure. */
function check(ok: boolean, what: string, detail?: () => unknown): void {
  if (!ok) throw new Error(detail ? `${what}: ${JSON.stringify(detail())}` : what);
}

/** hostname -> desired set, computed on first use (the oracle asks only for hosts that may have to remove). */
class LazyDesired extends Map<string, DesiredSet> {
  constructor(private readonly w: World) {
    super();
  }

  override get(hostname: string): DesiredSet | undefined {
    const h = this.w.hosts.get(hostname);
    return h && this.w.desired(h);
  }
}

/** Same members, any order. */
function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Same needs (any order) and same states. */
function sameSnapshot(a: PatchStateSnapshot, b: PatchStateSnapshot): boolean {
  if (a.needs.size !== b.needs.size || a.states.size !== b.states.size) return false;
  for (const [id, set] of a.needs) {
    const other = b.needs.get(id);
    if (!other || !sameSet(set, other)) return false;
  }
  for (const [id, st] of a.states) if (b.states.get(id) !== st) return false;
  return true;
}

/** A deep copy, to show later that a snapshot was not changed. */
const copyOf = (s: PatchStateSnapshot): PatchStateSnapshot => ({ needs: new Map([...s.needs].map(([id, set]) => [id, new Set(set)])), states: new Map(s.states) });

function checkStep(w: World, step: Step, before: PatchStateSnapshot): void {
  const inputs = w.inputs();
  if (step.kind === "hosts") {
    const fresh = computeSnapshot(inputs);
    check(sameSnapshot(w.snap, fresh), "incremental snapshot differs from the from-scratch one", () => ({ incremental: plain(w.snap), fromScratch: plain(fresh) }));
  }
  const order = [...w.snap.states.keys()];
  check(order.length === inputs.records.length && inputs.records.every((p, i) => p.meta.id === order[i]), "states in record order", () => order);

  const desired = new LazyDesired(w);
  const oracle = computePatchStates(inputs.records, [...w.hosts.values()], desired, w.interim);
  const agree = oracle.size === w.snap.states.size && [...oracle].every(([id, st]) => w.snap.states.get(id) === st);
  check(agree, "states differ from computePatchStates", () => ({ engine: Object.fromEntries(w.snap.states), oracle: Object.fromEntries(oracle) }));

  // A host that installed exactly its desired set waits for no patch.
  for (const name of step.converged ?? []) {
    const h = w.hosts.get(name)!;
    check(pendingChanges(h, desired.get(name)!) === 0, `${name} converged but has pending changes`);
    for (const [id, set] of w.snap.needs) check(!set.has(name), `${name} converged but still needed by ${id}`);
  }

  const changes = stateChanges(before.states, w.snap);
  const naive = [...w.snap.states]
    .filter(([id, st]) => before.states.get(id) !== st)
    .map(([id]) => id)
    .sort();
  check(changes.length === naive.length && changes.every((c, i) => c.patchId === naive[i]), "stateChanges lists the changed ids, sorted", () => ({ changes, naive }));
  for (const c of changes) check(c.oldState === (before.states.get(c.patchId) ?? "") && c.newState === w.snap.states.get(c.patchId), "stateChanges old/new", () => c);
}

/** One random history of 20-40 steps, checked after every step. */
function runHistory(seed: number): void {
  const rng = prng(seed);
  const w = new World(rng);
  const log: string[] = [];
  const steps = rng.range(20, 40);
  try {
    for (let i = 0; i < steps; i++) {
      let r = rng.int(STEP_WEIGHT);
      const fn = STEPS.find(([weight]) => (r -= weight) < 0)![1];
      const before = w.snap;
      const frozen = copyOf(before);
      const step = fn(w, rng);
      log.push(step.text);
      if (step.kind === "repo") {
        w.desiredCache = new WeakMap();
        w.snap = computeSnapshot(w.inputs());
      } else {
        const next = updateSnapshotForHosts(before, w.inputs(), step.hostnames!);
        check(sameSnapshot(before, frozen), "the previous snapshot was changed", () => [plain(frozen), plain(before)]);
        // Unchanged sets and an unchanged states map are shared, not copied.
        for (const [id, set] of next.needs) {
          const old = before.needs.get(id);
          check(!old || set === old || !sameSet(set, old), `needs of ${id} copied though unchanged`);
        }
        const sameStates = next.states.size === before.states.size && [...next.states].every(([id, st]) => before.states.get(id) === st);
        check(!sameStates || next.states === before.states, "states map copied though unchanged");
        w.snap = next;
      }
      checkStep(w, step, before);
      check(updateSnapshotForHosts(w.snap, w.inputs(), []) === w.snap, "an update for no host returns the snapshot itself");
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`history seed ${seed} (rerun with CHAOS_SEED=${seed}) failed at step ${log.length}: ${msg}\n  ${log.map((l, i) => `${i + 1}. ${l}`).join("\n  ")}`, {
      cause: e,
    });
  }
}

describe("patch-state engine: property test", () => {
  it("keeps the incremental snapshot equal to a from-scratch one and to computePatchStates over 1,000 random histories", () => {
    const one = process.env.CHAOS_SEED;
    const seeds = one ? [Number(one) >>> 0] : Array.from({ length: 1000 }, (_, k) => (0x5eed0000 + k) >>> 0);
    for (const seed of seeds) runHistory(seed);
  });
});
