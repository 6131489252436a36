import { rpmVersionCompare } from "../rpm/index.js";
import type { HostPackageView, PackageRecord, PatchRecord, PatchStateName } from "./model.js";

/** The set of packages a host should have, and what it must erase. */
export interface DesiredSet {
  /** name -> the package the host must have installed */
  packages: Map<string, PackageRecord>;
  /** Installed names that only a patch no longer in the repository brought. */
  erase: string[];
  /** Names whose change comes from a reboot-required patch. */
  rebootRequiredNames: Set<string>;
  /** FLOOR (issue 21): the highest security counter of the release's applied and committed patches (0: none). */
  securityCounter?: number;
  /** FLOOR: those patches' ids, sorted (named in the host's install receipt). */
  patchIds?: string[];
}

const evrOf = (p: { epoch: string; version: string; release: string }) => ({
  epoch: p.epoch === "" ? null : p.epoch,
  version: p.version,
  release: p.release,
});

/** Compares two packages by epoch/version/release as rpm does. */
export function compareEvr(a: { epoch: string; version: string; release: string }, b: { epoch: string; version: string; release: string }): number {
  return rpmVersionCompare(evrOf(a), evrOf(b));
}

/**
 * The desired package set of a host (ARCHITECTURE "core model"): for each package name the host
 * has, that the release's base feed has, or that an applied patch adds for the host's
 * personality, the highest version among the
 * base feed and the Applied/Committed patches of the host's release. Installed names that only
 * patches brought, and that no applied patch provides any more, are erased.
 */
export function desiredSetFor(host: HostPackageView, base: readonly PackageRecord[], patches: Iterable<PatchRecord>): DesiredSet {
  const candidates = new Map<string, { pkg: PackageRecord; rr: boolean }[]>();
  const add = (pkg: PackageRecord, rr: boolean) => {
    const list = candidates.get(pkg.name);
    if (list) list.push({ pkg, rr });
    else candidates.set(pkg.name, [{ pkg, rr }]);
  };
  for (const pkg of base) add(pkg, false);
  const wanted = new Set<string>();
  const patchNames = new Set<string>();
  let securityCounter = 0;
  const patchIds: string[] = [];
  for (const p of patches) {
    if (p.meta.swVersion !== host.release) continue;
    for (const pkg of p.packages) patchNames.add(pkg.name);
    if (p.repoState === "Available") continue;
    securityCounter = Math.max(securityCounter, p.meta.securityCounter ?? 0);
    patchIds.push(p.meta.id);
    for (const pkg of p.packages) add(pkg, p.meta.rebootRequired);
    for (const name of p.meta.personalities[host.personalityKey] ?? []) wanted.add(name);
  }
  const out: DesiredSet = { packages: new Map(), erase: [], rebootRequiredNames: new Set(), securityCounter, patchIds: patchIds.sort() };
  // Every host of a release is installed from its whole base feed.
  const names = new Set<string>([...host.installed.keys(), ...base.map((b) => b.name), ...wanted]);
  for (const name of [...names].sort()) {
    const list = candidates.get(name);
    if (!list || list.length === 0) {
      if (host.installed.has(name) && patchNames.has(name)) out.erase.push(name);
      continue;
    }
    let best = list[0]!;
    for (const c of list) if (compareEvr(c.pkg, best.pkg) > 0) best = c;
    out.packages.set(name, best.pkg);
    const inst = host.installed.get(name);
    if (!inst || compareEvr(inst, best.pkg) !== 0) {
      // A change on this host: reboot-required if the package moving in or out is from an RR patch.
      const fromRr = list.some((c) => c.rr && (compareEvr(c.pkg, best.pkg) === 0 || (inst && compareEvr(c.pkg, inst) === 0)));
      if (fromRr) out.rebootRequiredNames.add(name);
    }
  }
  return out;
}

/** Packages the host must still change to match its desired set (0 = Patch Current). */
export function pendingChanges(host: HostPackageView, desired: DesiredSet): number {
  let n = desired.erase.length;
  for (const [name, pkg] of desired.packages) {
    const inst = host.installed.get(name);
    if (!inst || compareEvr(inst, pkg) !== 0) n++;
  }
  return n;
}

/**
 * Computes every patch's system-wide state (spec 4) from its repository state, the interim lists
 * (hosts that have not reported since the patch was applied or removed) and the hosts' packages.
 * With no hosts known every patch is n/a (the reference's intent; its bug reset only one).
 */
export function computePatchStates(
  patches: readonly PatchRecord[],
  hosts: readonly HostPackageView[],
  desired: ReadonlyMap<string, DesiredSet>,
  interim: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, PatchStateName> {
  const out = new Map<string, PatchStateName>();
  for (const p of patches) {
    if (hosts.length === 0) {
      out.set(p.meta.id, "n/a");
      continue;
    }
    if (p.repoState === "Committed") {
      out.set(p.meta.id, "Committed");
      continue;
    }
    const pending = (interim.get(p.meta.id)?.size ?? 0) > 0;
    let state: PatchStateName = p.repoState;
    if (pending) state = p.repoState === "Applied" ? "Partial-Apply" : "Partial-Remove";
    else {
      for (const h of hosts) {
        if (h.release !== p.meta.swVersion) continue;
        if (p.repoState === "Applied" ? needsApply(p, h) : needsRemove(p, h, desired.get(h.hostname))) {
          state = p.repoState === "Applied" ? "Partial-Apply" : "Partial-Remove";
          break;
        }
      }
    }
    out.set(p.meta.id, state);
  }
  return out;
}

function needsApply(p: PatchRecord, h: HostPackageView): boolean {
  const newFor = new Set(p.meta.personalities[h.personalityKey] ?? []);
  for (const pkg of p.packages) {
    const inst = h.installed.get(pkg.name);
    if (inst) {
      if (compareEvr(inst, pkg) < 0) return true;
    } else if (newFor.has(pkg.name)) return true;
  }
  return false;
}

function needsRemove(p: PatchRecord, h: HostPackageView, desired: DesiredSet | undefined): boolean {
  for (const pkg of p.packages) {
    const inst = h.installed.get(pkg.name);
    if (!inst || compareEvr(inst, pkg) !== 0) continue;
    const want = desired?.packages.get(pkg.name);
    if (!want || compareEvr(want, pkg) !== 0) return true;
  }
  return false;
}

/**
 * Whether `host` still has to change for patch `p` to reach its repository state: an Applied
 * patch the host has not installed, or an Available one it still has. Committed patches and
 * other releases never do. `desired` is computed lazily (only removals need it).
 */
export function hostNeedsPatch(p: PatchRecord, h: HostPackageView, desired: () => DesiredSet): boolean {
  if (p.repoState === "Committed" || h.release !== p.meta.swVersion) return false;
  return p.repoState === "Applied" ? needsApply(p, h) : needsRemove(p, h, desired());
}

/** A patch's state from its repository state, whether hosts exist, its interim list and how many hosts still need it. */
export function patchStateOf(p: PatchRecord, haveHosts: boolean, interimPending: boolean, hostsNeeding: number): PatchStateName {
  if (!haveHosts) return "n/a";
  if (p.repoState === "Committed") return "Committed";
  if (interimPending || hostsNeeding > 0) return p.repoState === "Applied" ? "Partial-Apply" : "Partial-Remove";
  return p.repoState;
}
