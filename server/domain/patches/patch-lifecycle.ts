import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { failpointAsync } from "../../lib/failpoint.js";
import type { BlobPort } from "../store.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { PackageRecord, PatchRecord } from "./model.js";
import type { PatchCatalog } from "./patch-catalog.js";
import { checkArgs, checksFor, runSemanticChecks, type SemanticCheck, type SemanticCheckRunner } from "./semantic-checks.js";
import { compareEvr } from "./state.js";
import { checkApplyFloor, checkRemoveFloor, floorsAfter } from "./security-floor.js";

/** What an apply did, per patch in id order (`noneAvailable`: "all" found nothing to apply). */
export interface ApplyOutcome {
  noneAvailable: boolean;
  results: { patchId: string; applied: boolean }[];
  /** The patches it applied (the others were already in the repo). */
  applied: string[];
  /**
   * Applied patches that change no host's package set: `hosts` is how many hosts run the patch's
   * release (0: none known yet). Worth a warning (a bare RPM goes to no host).
   */
  changesNoHost?: { patchId: string; release: string; hosts: number }[];
}

/** What a remove did, per patch in id order. */
export interface RemoveOutcome {
  results: { patchId: string; removed: boolean }[];
  /** Unremovable patches removed on request (warned about). */
  unremovableRemoved: string[];
  removed: string[];
}

/** What a delete did. */
export interface DeleteOutcome {
  deleted: string[];
}

/** What a commit did (or would do: "dry-run"); "nothing": no patch of `release` to commit. */
export interface CommitOutcome {
  kind: "nothing" | "dry-run" | "committed";
  release: string;
  patchIds: string[];
  freedBytes: number;
}

/** A validated apply/remove: what to write, or an answer with nothing to write. */
type Plan<R> = { done: R } | { version: number; checks: SemanticCheck[]; write: () => Promise<R> };

/**
 * Apply, remove, delete and commit of patches (spec 4 / 8).
 * INVARIANTS: validation and writes run under the unit of work's lock; semantic check scripts run
 * outside it (they may take minutes) and the plan is validated again, under the lock, after them:
 * if the repository changed meanwhile (its version moved) the checks run again.
 */
export class PatchLifecycle {
  constructor(private readonly o: { catalog: PatchCatalog; uow: UnitOfWork; blobs: BlobPort; checks: SemanticCheckRunner }) {}

  private get c(): PatchCatalog {
    return this.o.catalog;
  }

  /**
   * Validates under the lock; with checks to run, runs them unlocked and validates again under the
   * lock: the plan is written only if the repository did not change since the checks started.
   */
  private async withChecks<R>(plan: () => Plan<R>, signal: AbortSignal | undefined): Promise<R> {
    let checkedAt: number | undefined;
    for (;;) {
      const r = await this.o.uow.exclusive(async (): Promise<{ done: R } | { checks: SemanticCheck[]; args: string[]; version: number }> => {
        const p = plan();
        if ("done" in p) return p;
        if (p.checks.length === 0 || checkedAt === p.version) return { done: await p.write() };
        return { checks: p.checks, args: checkArgs(this.c.all()), version: p.version };
      });
      if ("done" in r) return r.done;
      await runSemanticChecks(this.o.checks, r.checks, r.args, (sha) => this.o.blobs.fileOf(sha), signal);
      checkedAt = r.version;
    }
  }

  async apply(ids: readonly string[], opts: { all?: boolean; skipSemantic?: boolean; allowDowngrade?: boolean } = {}, signal?: AbortSignal): Promise<ApplyOutcome> {
    return this.withChecks(() => this.planApply(ids, opts), signal);
  }

  private planApply(ids: readonly string[], opts: { all?: boolean; skipSemantic?: boolean; allowDowngrade?: boolean }): Plan<ApplyOutcome> {
    const c = this.c;
    c.rejectWhileInstalling();
    let list: string[];
    if (opts.all) {
      list = c
        .all()
        .filter((p) => p.repoState === "Available")
        .map((p) => p.meta.id);
      if (list.length === 0) return { done: { noneAvailable: true, results: [], applied: [] } };
    } else {
      list = [...new Set(ids)].sort();
      if (list.length === 0) throw invalidArgument("patch_ids: at least one patch id (or all) is required");
      c.requireKnown(list);
    }
    const upgrade = list.filter((id) => {
      const p = c.get(id)!;
      return p.meta.applyActiveReleaseOnly && p.meta.swVersion !== c.runningRelease;
    });
    if (upgrade.length) throw failedPrecondition(upgrade.map((id) => `${id} cannot be applied in an upgrade`).join("\n"), { reason: "UPGRADE_APPLY_REFUSED" });
    const inSet = new Set(list);
    const missing = new Map<string, string[]>();
    for (const id of list) {
      for (const req of c.get(id)!.meta.requires) {
        if (inSet.has(req)) continue;
        const r = c.get(req);
        if (!r || r.repoState === "Available") missing.set(req, [...(missing.get(req) ?? []), id]);
      }
    }
    if (missing.size) {
      throw failedPrecondition(
        [...missing.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([req, by]) => `${req} is required by: ${by.sort().join(", ")}`)
          .join("\n"),
        { reason: "REQUIREMENT_NOT_APPLIED" },
      );
    }
    checkApplyFloor(
      c.floors,
      list.map((id) => c.get(id)!),
      opts.allowDowngrade === true,
    );
    const checks = opts.skipSemantic ? [] : checksFor(c.patches, list, "pre-apply");
    return {
      version: c.version,
      checks,
      write: async () => {
        const results: ApplyOutcome["results"] = [];
        const changed: PatchRecord[] = [];
        for (const id of list) {
          const p = c.get(id)!;
          if (p.repoState === "Available") changed.push({ ...p, repoState: "Applied" });
          results.push({ patchId: id, applied: p.repoState === "Available" });
        }
        const changesNoHost: NonNullable<ApplyOutcome["changesNoHost"]> = [];
        for (const p of changed) {
          const { hosts, changed: n } = c.hostsChangedBy([p]);
          if (n === 0) changesNoHost.push({ patchId: p.meta.id, release: p.meta.swVersion, hosts });
        }
        await this.writeRepoChanges(changed, "patch.applied");
        return { noneAvailable: false, results, applied: changed.map((p) => p.meta.id), ...(changesNoHost.length ? { changesNoHost } : {}) };
      },
    };
  }

  async remove(
    ids: readonly string[],
    opts: { skipSemantic?: boolean; skipAppCheck?: boolean; removeUnremovable?: boolean; allowDowngrade?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<RemoveOutcome> {
    return this.withChecks(() => this.planRemove(ids, opts), signal);
  }

  private planRemove(
    ids: readonly string[],
    opts: { skipSemantic?: boolean; skipAppCheck?: boolean; removeUnremovable?: boolean; allowDowngrade?: boolean },
  ): Plan<RemoveOutcome> {
    const c = this.c;
    c.rejectWhileInstalling();
    const list = [...new Set(ids)].sort();
    if (list.length === 0) throw invalidArgument("patch_ids: at least one patch id is required");
    c.requireKnown(list);
    const unremovableRemoved: string[] = [];
    const errors: string[] = [];
    for (const id of list) {
      const p = c.get(id)!;
      if (p.meta.unremovable) {
        if (opts.removeUnremovable) unremovableRemoved.push(id);
        else errors.push(`Patch ${id} is not removable`);
      }
      if (p.repoState === "Committed") errors.push(`Patch ${id} is committed and cannot be removed`);
    }
    if (errors.length) throw failedPrecondition(errors.join("\n"), { reason: "NOT_REMOVABLE" });
    const inSet = new Set(list);
    const deps: string[] = [];
    for (const id of list) {
      const by = c.graph.dependentsOf(id).filter((d) => !inSet.has(d) && c.get(d)?.repoState !== "Available");
      if (by.length) deps.push(`${id} is required by: ${by.join(", ")}`);
    }
    if (deps.length) throw failedPrecondition(deps.join("\n"), { reason: "REQUIRED_BY_APPLIED" });
    if (!opts.skipAppCheck) {
      const appErr: string[] = [];
      for (const id of list) {
        const apps = c
          .appDependencies()
          .filter((a) => a.patchIds.includes(id))
          .map((a) => a.app);
        if (apps.length) appErr.push(`${id} is required by application(s): ${apps.join(", ")}`);
      }
      if (appErr.length) throw failedPrecondition(appErr.join("\n"), { reason: "REQUIRED_BY_APPLICATION" });
    }
    checkRemoveFloor(
      c.floors,
      c.patches.values(),
      list.map((id) => c.get(id)!),
      opts.allowDowngrade === true,
    );
    const checks = opts.skipSemantic ? [] : checksFor(c.patches, list, "pre-remove");
    return {
      version: c.version,
      checks,
      write: async () => {
        const results: RemoveOutcome["results"] = [];
        const changed: PatchRecord[] = [];
        for (const id of list) {
          const p = c.get(id)!;
          if (p.repoState !== "Available") changed.push({ ...p, repoState: "Available" });
          results.push({ patchId: id, removed: p.repoState !== "Available" });
        }
        await this.writeRepoChanges(changed, "patch.removed");
        return { results, unremovableRemoved, removed: changed.map((p) => p.meta.id) };
      },
    };
  }

  /** Repository states of `changed` with every host interim for them; states from scratch. */
  private async writeRepoChanges(changed: PatchRecord[], kind: string): Promise<void> {
    if (changed.length === 0) return;
    const c = this.c;
    const hostnames = [...c.hosts.views().values()].map((h) => h.hostname);
    const floors = floorsAfter(c.floors, c.patches.values(), changed, new Date());
    await this.o.uow.commit(async (w) => {
      for (const f of floors) await w.tx.setSecurityFloor(f);
      for (const p of changed) {
        const old = c.get(p.meta.id)!;
        await w.tx.patches.setRepoState(p.meta.id, p.repoState);
        await w.tx.patches.setInterim(p.meta.id, hostnames);
        await w.event({ kind, patchId: p.meta.id, oldState: old.repoState, newState: p.repoState });
        await failpointAsync(`${kind}:in-transaction`);
      }
      const interim = new Map(c.interim);
      for (const p of changed) {
        if (hostnames.length) interim.set(p.meta.id, new Set(hostnames));
        else interim.delete(p.meta.id);
      }
      const forStates = new Map(c.interim);
      for (const p of changed) forStates.set(p.meta.id, new Set(hostnames));
      const snapshot = await c.statesAfterChange(w, changed, forStates);
      w.afterCommit(() => c.adopt({ changed, interim, snapshot, floors }));
    });
    c.hosts.requestReports();
  }

  async delete(ids: readonly string[]): Promise<DeleteOutcome> {
    const c = this.c;
    return this.o.uow.exclusive(async () => {
      const list = [...new Set(ids)].sort();
      if (list.length === 0) throw invalidArgument("patch_ids: at least one patch id is required");
      c.requireKnown(list);
      const bad = list.filter((id) => {
        const p = c.get(id)!;
        return p.repoState !== "Available" || !(p.patchState === "Available" || p.patchState === "n/a");
      });
      if (bad.length) throw failedPrecondition(bad.map((id) => `Patch ${id} not in Available state`).join("\n"), { reason: "NOT_AVAILABLE" });
      const orphans = await this.o.uow.commit(async (w) => {
        for (const id of list) {
          await w.tx.patches.deletePatch(id);
          await w.event({ kind: "patch.deleted", patchId: id, oldState: "Available", message: `${id} has been deleted` });
        }
        const gone = await w.tx.patches.orphanBlobs();
        await w.tx.patches.deleteBlobRows(gone);
        await failpointAsync("delete:in-transaction");
        w.afterCommit(() => c.adopt({ deleted: list }));
        return gone;
      });
      await failpointAsync("delete:committed");
      for (const sha of orphans) await this.o.blobs.remove(sha);
      return { deleted: list };
    });
  }

  async commit(opts: { ids?: readonly string[]; all?: boolean; release?: string; dryRun?: boolean }): Promise<CommitOutcome> {
    const c = this.c;
    return this.o.uow.exclusive(async () => {
      let ids: string[];
      if (opts.all) {
        const rel = opts.release || c.runningRelease;
        ids = c
          .all()
          .filter((p) => p.meta.swVersion === rel)
          .map((p) => p.meta.id);
        if (ids.length === 0) return { kind: "nothing", release: rel, patchIds: [], freedBytes: 0 };
      } else {
        if (opts.release) throw invalidArgument("Use of --release option requires --all");
        ids = [...new Set(opts.ids ?? [])].sort();
        if (ids.length === 0) throw invalidArgument("patch_ids: at least one patch id (or all) is required");
      }
      const nonRel = c
        .all()
        .filter((p) => p.meta.status !== "REL")
        .map((p) => p.meta.id);
      if (nonRel.length) {
        throw failedPrecondition(`A commit cannot be performed with non-REL status patches in the system:\n${nonRel.map((id) => `    ${id}\n`).join("")}`.trimEnd(), {
          reason: "NON_REL_PATCHES",
        });
      }
      const unknown = ids.filter((id) => !c.patches.has(id));
      if (unknown.length) throw notFound(unknown.map((id) => `${id} is unrecognized`).join("\n"), { reason: "PATCH_NOT_FOUND" });
      const closure = c.queryDependencies(ids, true);
      const notApplied = closure.filter((id) => {
        const p = c.get(id)!;
        return !(p.patchState === "Applied" || p.patchState === "Committed" || (p.patchState === "n/a" && p.repoState !== "Available"));
      });
      if (notApplied.length) {
        throw failedPrecondition(`The following patches are not applied and cannot be committed:\n${notApplied.map((id) => `    ${id}\n`).join("")}`.trimEnd(), {
          reason: "NOT_APPLIED",
        });
      }
      // Reclaim: within the committed set, per release/name/arch, only the highest version stays.
      const best = new Map<string, PackageRecord>();
      const all: { patchId: string; pkg: PackageRecord; rel: string }[] = [];
      for (const id of closure) {
        const p = c.get(id)!;
        for (const k of p.packages) {
          all.push({ patchId: id, pkg: k, rel: p.meta.swVersion });
          const key = `${p.meta.swVersion}|${k.name}|${k.arch}`;
          const cur = best.get(key);
          if (!cur || compareEvr(k, cur) > 0) best.set(key, k);
        }
      }
      const reclaim = all.filter((x) => best.get(`${x.rel}|${x.pkg.name}|${x.pkg.arch}`) !== x.pkg);
      const freed = reclaim.reduce((n, x) => n + x.pkg.size, 0);
      if (opts.dryRun) {
        return { kind: "dry-run", release: opts.release ?? "", patchIds: closure, freedBytes: freed };
      }
      const changed = closure.map((id) => {
        const p = c.get(id)!;
        const drop = new Set(reclaim.filter((x) => x.patchId === id).map((x) => x.pkg.fileName));
        return { ...p, repoState: "Committed" as const, packages: p.packages.filter((k) => !drop.has(k.fileName)) };
      });
      const orphans = await this.o.uow.commit(async (w) => {
        for (const p of changed) {
          const old = c.get(p.meta.id)!;
          await w.tx.patches.setRepoState(p.meta.id, "Committed");
          if (old.repoState !== "Committed") await w.event({ kind: "patch.committed", patchId: p.meta.id, oldState: old.repoState, newState: "Committed" });
        }
        for (const x of reclaim) await w.tx.patches.markReclaimed(x.patchId, x.pkg.fileName);
        const gone = await w.tx.patches.orphanBlobs();
        await w.tx.patches.deleteBlobRows(gone);
        await failpointAsync("commit:in-transaction");
        const snapshot = await c.statesAfterChange(w, changed);
        w.afterCommit(() => c.adopt({ changed, snapshot }));
        return gone;
      });
      await failpointAsync("commit:committed");
      for (const sha of orphans) await this.o.blobs.remove(sha);
      return { kind: "committed", release: opts.release ?? "", patchIds: closure, freedBytes: freed };
    });
  }
}
