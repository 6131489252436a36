import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { BlobPort } from "../store.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { PatchCatalog } from "./patch-catalog.js";
import { TEXT_LIMITS, checkCount, storeFull } from "../text-limits.js";

/** What init/del release did. */
export interface ReleaseOutcome {
  release: string;
  change: "created" | "exists" | "deleted";
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Releases (init/del of a release's patch repository) and application dependencies.
 * INVARIANTS: checks and writes under the unit of work's lock; memory adopted after commit.
 */
export class Releases {
  constructor(private readonly o: { catalog: PatchCatalog; uow: UnitOfWork; blobs: BlobPort }) {}

  private get c(): PatchCatalog {
    return this.o.catalog;
  }

  async reportAppDependencies(app: string, ids: readonly string[]): Promise<void> {
    if (!app) throw invalidArgument("Application name must be specified with --app argument.", { reason: "APP_REQUIRED" });
    if (!/^[A-Za-z0-9._:@/-]{1,128}$/.test(app)) throw invalidArgument(`app: invalid application name "${app}"`);
    const list = [...new Set(ids)].sort();
    checkCount("patch_ids", list.length, TEXT_LIMITS.appDependencyIds);
    for (const id of list) if (!SAFE_ID.test(id)) throw invalidArgument(`patch_ids: invalid patch id "${id}"`);
    await this.o.uow.exclusive(() =>
      this.o.uow.commit(async (w) => {
        if (list.length && !this.c.appDeps.has(app) && this.c.appDeps.size >= TEXT_LIMITS.apps) throw storeFull("applications with dependencies", TEXT_LIMITS.apps);
        await w.tx.patches.setAppDependencies(app, list);
        await w.event({ kind: "app.dependencies", message: `${app}: ${list.join(", ")}` });
        w.afterCommit(() => {
          if (list.length) this.c.appDeps.set(app, list);
          else this.c.appDeps.delete(app);
          this.c.touched();
        });
      }),
    );
  }

  async initRelease(release: string): Promise<ReleaseOutcome> {
    this.checkRelease(release);
    return this.o.uow.exclusive(async () => {
      if (this.c.releases.has(release)) return { release, change: "exists" };
      await this.o.uow.commit(async (w) => {
        await w.tx.patches.insertRelease(release);
        await w.event({ kind: "release.created", message: release });
        w.afterCommit(() => {
          this.c.releases.add(release);
          this.c.touched();
        });
      });
      return { release, change: "created" };
    });
  }

  async delRelease(release: string): Promise<ReleaseOutcome> {
    this.checkRelease(release);
    return this.o.uow.exclusive(async () => {
      if (!this.c.releases.has(release)) throw notFound(`Release ${release} is not known`, { reason: "RELEASE_NOT_FOUND" });
      const ids = this.c
        .all()
        .filter((p) => p.meta.swVersion === release)
        .map((p) => p.meta.id);
      const orphans = await this.o.uow.commit(async (w) => {
        for (const id of ids) {
          await w.tx.patches.deletePatch(id);
          await w.event({ kind: "patch.deleted", patchId: id, message: `${id} has been deleted` });
        }
        await w.tx.patches.deleteRelease(release);
        await w.event({ kind: "release.deleted", message: release });
        const gone = await w.tx.patches.orphanBlobs();
        await w.tx.patches.deleteBlobRows(gone);
        w.afterCommit(() => {
          this.c.releases.delete(release);
          this.c.base.delete(release);
          this.c.adopt({ deleted: ids });
        });
        return gone;
      });
      for (const sha of orphans) await this.o.blobs.remove(sha);
      return { release, change: "deleted" };
    });
  }

  private checkRelease(release: string): void {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(release)) throw invalidArgument(`release: invalid release "${release}"`);
    if (release === this.c.runningRelease) throw failedPrecondition(`Rejected: Requested release ${release} is running release`, { reason: "RUNNING_RELEASE" });
  }
}
