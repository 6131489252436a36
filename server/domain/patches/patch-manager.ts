import { promises as fsp } from "node:fs";
import type { EventLog } from "../events/event-log.js";
import type { TrustStore, PatchReadLimits, PatchSignerPolicy, UploadBudget } from "../patchfile/index.js";
import type { Logger } from "../../lib/log.js";
import type { BlobPort, Store } from "../store.js";
import { UnitOfWork, type Work } from "../unit-of-work.js";
import type { HostPackageView, PackageRecord, PatchRecord, PatchStateName } from "./model.js";
import type { BaseImporter } from "./base-policy.js";
import { PatchCatalog, type HostsProvider } from "./patch-catalog.js";
import { PatchImport, type UploadOutcome } from "./patch-import.js";
import { PatchLifecycle, type ApplyOutcome, type CommitOutcome, type DeleteOutcome, type RemoveOutcome } from "./patch-lifecycle.js";
import type { HostViews } from "./patch-state.js";
import { Releases, type ReleaseOutcome } from "./releases.js";
import type { SemanticCheckRunner } from "./semantic-checks.js";
import type { DesiredSet } from "./state.js";
import type { SecurityFloorRecord } from "./security-floor.js";

export type { HostsProvider } from "./patch-catalog.js";
export type { ApplyOutcome, CommitOutcome, DeleteOutcome, RemoveOutcome } from "./patch-lifecycle.js";
export type { ReleaseOutcome } from "./releases.js";
export type { UploadOutcome } from "./patch-import.js";
export type { BaseImporter } from "./base-policy.js";

export interface PatchManagerOptions {
  store: Store;
  blobs: BlobPort;
  events: EventLog;
  log: Logger;
  /** Private temp dir for uploads (inside the data dir). */
  tmpDir: string;
  runningRelease: string;
  trust: () => TrustStore;
  /** The root of trust's patch-signer policy (issue 21): undefined without a root; throws once it has expired. */
  patchSigners?: () => PatchSignerPolicy | undefined;
  limits?: Partial<PatchReadLimits>;
  /** Uploads in flight and their temp disk, shared by every upload path (readPatch's `budget`). */
  uploadBudget?: UploadBudget;
  /** Runs semantic check scripts (controller: /bin/sh). Without one, a patch with checks cannot be applied or removed unless skipped. */
  checks?: SemanticCheckRunner;
  /** The unit of work shared with the host side (default: a new one over `store`). */
  uow?: UnitOfWork;
}

const NO_CHECKS: SemanticCheckRunner = {
  run: async () => ({ code: 1, output: "no semantic check runner configured" }),
};

/**
 * The patch repository (facade): the read model (PatchCatalog), imports (PatchImport), apply /
 * remove / delete / commit (PatchLifecycle) and releases (Releases) over one unit of work.
 * INVARIANTS: every mutation runs under the unit of work's lock and writes one transaction with
 * its events; memory adopts the change only after the commit, then the events are published.
 */
export class PatchManager {
  readonly uow: UnitOfWork;
  readonly catalog: PatchCatalog;
  private readonly imports: PatchImport;
  private readonly lifecycle: PatchLifecycle;
  private readonly releases: Releases;

  constructor(private readonly o: PatchManagerOptions) {
    this.uow = o.uow ?? new UnitOfWork({ store: o.store, events: o.events });
    this.catalog = new PatchCatalog(o.runningRelease);
    const parts = { catalog: this.catalog, uow: this.uow, blobs: o.blobs };
    this.imports = new PatchImport({
      ...parts,
      tmpDir: o.tmpDir,
      trust: o.trust,
      ...(o.patchSigners ? { patchSigners: o.patchSigners } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.uploadBudget ? { budget: o.uploadBudget } : {}),
    });
    this.lifecycle = new PatchLifecycle({ ...parts, checks: o.checks ?? NO_CHECKS });
    this.releases = new Releases(parts);
  }

  get version(): number {
    return this.catalog.version;
  }
  get runningRelease(): string {
    return this.o.runningRelease;
  }

  /**
   * Loads the committed state (replacing what memory held), cleans temp files and reconciles blobs with the database.
   * At start-up, and on a pair member each time it becomes active.
   */
  async init(): Promise<void> {
    await fsp.rm(this.o.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(this.o.tmpDir, { recursive: true, mode: 0o700 });
    await this.o.blobs.init();
    await this.o.store.transact(async (tx) => {
      await tx.patches.insertRelease(this.o.runningRelease);
      // A crash between a commit and the removal of files leaves orphans: drop them now.
      await tx.patches.deleteBlobRows(await tx.patches.orphanBlobs());
    });
    const known = await this.o.store.read.knownBlobs();
    for (const sha of await this.o.blobs.list()) {
      if (!known.has(sha)) await this.o.blobs.remove(sha);
    }
    await this.catalog.load(this.o.store.read);
  }

  /** A pair member lost its term: the read model is dropped (the next {@link init} re-reads it). No writes. */
  deactivate(): void {
    this.catalog.clear();
  }

  setHostsProvider(p: HostsProvider): void {
    this.catalog.hosts = p;
    this.catalog.refreshStates();
  }

  // ---------------------------------------------------------------- reads

  get(id: string): PatchRecord | undefined {
    return this.catalog.get(id);
  }
  all(): PatchRecord[] {
    return this.catalog.all();
  }
  releasesKnown(): string[] {
    return this.catalog.releasesKnown();
  }
  basePackages(release: string): readonly PackageRecord[] {
    return this.catalog.basePackages(release);
  }
  query(filter: "all" | "applied" | "available" | "committed", release = ""): PatchRecord[] {
    return this.catalog.query(filter, release);
  }
  show(ids: readonly string[]): { patches: PatchRecord[]; unrecognized: string[] } {
    return this.catalog.show(ids);
  }
  whatRequires(ids: readonly string[]): { patchId: string; requiredBy: string[] }[] {
    return this.catalog.whatRequires(ids);
  }
  queryDependencies(ids: readonly string[], recursive: boolean): string[] {
    return this.catalog.queryDependencies(ids, recursive);
  }
  isInState(ids: readonly string[], state: PatchStateName): boolean {
    return this.catalog.isInState(ids, state);
  }
  appDependencies(): { app: string; patchIds: string[] }[] {
    return this.catalog.appDependencies();
  }
  /** Whether the host still has to report after an apply/remove of some patch (interim state). */
  hostInInterim(hostname: string): boolean {
    return this.catalog.hostInInterim(hostname);
  }
  /** The desired package set of a host, cached until the next change. */
  desiredFor(host: HostPackageView): DesiredSet {
    return this.catalog.desiredFor(host);
  }
  /** A local file of a stored package (patch or base), by sha256; rejects when there is none. */
  packageFile(sha256: string): Promise<string> {
    return this.o.blobs.fileOf(sha256);
  }
  /** A package's bytes when small (cached for the next host), undefined when it must be streamed from packageFile. */
  packageBytes(sha256: string): Promise<Buffer | undefined> {
    return this.o.blobs.readSmall(sha256);
  }

  // ---------------------------------------------------------------- writes

  upload(fileName: string, chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<{ id: string; outcome: UploadOutcome; patch: PatchRecord }> {
    return this.imports.upload(fileName, chunks, signal);
  }
  apply(ids: readonly string[], opts: { all?: boolean; skipSemantic?: boolean; allowDowngrade?: boolean } = {}, signal?: AbortSignal): Promise<ApplyOutcome> {
    return this.lifecycle.apply(ids, opts, signal);
  }
  remove(
    ids: readonly string[],
    opts: { skipSemantic?: boolean; skipAppCheck?: boolean; removeUnremovable?: boolean; allowDowngrade?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<RemoveOutcome> {
    return this.lifecycle.remove(ids, opts, signal);
  }
  /**
   * FLOOR (issue 21): the anti-rollback floor of `release`, or of every release that has a floor
   * or a patch (by release); a release without one has floor 0.
   */
  securityFloors(release = ""): SecurityFloorRecord[] {
    const c = this.catalog;
    const releases = release ? [release] : [...new Set([...c.floors.keys(), ...c.all().map((p) => p.meta.swVersion)])].sort();
    return releases.map((r) => c.floors.get(r) ?? { release: r, floor: 0, patchId: "", updatedAt: "" });
  }
  delete(ids: readonly string[]): Promise<DeleteOutcome> {
    return this.lifecycle.delete(ids);
  }
  commit(opts: { ids?: readonly string[]; all?: boolean; release?: string; dryRun?: boolean }): Promise<CommitOutcome> {
    return this.lifecycle.commit(opts);
  }
  reportAppDependencies(app: string, ids: readonly string[]): Promise<void> {
    return this.releases.reportAppDependencies(app, ids);
  }
  initRelease(release: string): Promise<ReleaseOutcome> {
    return this.releases.initRelease(release);
  }
  delRelease(release: string): Promise<ReleaseOutcome> {
    return this.releases.delRelease(release);
  }
  /** `--base-feed DIR` at start (host root: unsigned packages allowed, recorded as imported by "--base-feed"). */
  importBaseFeed(release: string, dir: string): Promise<{ added: number; total: number }> {
    return this.imports.importBaseFeed(release, dir);
  }
  /** ImportBasePackage: signed (operator or admin) or unsigned (admin only); see base-policy.ts. */
  importBasePackage(
    release: string,
    file: string,
    fileName: string,
    opts: { importer: BaseImporter; signature?: Uint8Array },
  ): Promise<{ pkg: PackageRecord; added: boolean }> {
    return this.imports.importBasePackage(release, file, fileName, opts);
  }

  // ---------------------------------------------------------------- host reports

  /**
   * Fresh reports of `hostnames` (their views as `hosts` shows them, not yet adopted), inside the
   * caller's unit of work: each leaves the interim lists and the patch states are recomputed
   * once, for those hosts only. Memory adopts both after the commit.
   */
  async onHostReports(w: Work, hosts: HostViews, hostnames: readonly string[]): Promise<void> {
    const c = this.catalog;
    let interim = c.interim;
    const leaving = [...new Set(hostnames)].filter((h) => c.hostInInterim(h));
    if (leaving.length) {
      for (const h of leaving) await w.tx.patches.clearInterimForHost(h);
      interim = new Map<string, Set<string>>();
      for (const [id, s] of c.interim) {
        const n = new Set(s);
        for (const h of leaving) n.delete(h);
        if (n.size) interim.set(id, n);
      }
    }
    const snapshot = await c.statesAfterReports(w, hosts, interim, hostnames);
    w.afterCommit(() => c.adopt({ interim, snapshot, hostOnly: hostnames }));
  }
}
