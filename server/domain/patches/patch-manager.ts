import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { hashFile } from "../../lib/hash-file.js";
import type { BlobPort, Store, StoreTx } from "../store.js";
import { DomainError, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { DomainEvent, EventLog } from "../events/event-log.js";
import { readPatch, type TrustStore, type PatchReadLimits } from "../patchfile/index.js";
import { readRpmHeader, rpmFileNameOf } from "../rpm/index.js";
import type { Logger } from "../../lib/log.js";
import { DependencyGraph } from "./dependency-graph.js";
import type { HostPackageView, PackageRecord, PatchMeta, PatchRecord, PatchStateName, RepoState } from "./model.js";
import { compareEvr, desiredSetFor, hostNeedsPatch, patchStateOf, type DesiredSet } from "./state.js";
import { Mutex } from "../../lib/mutex.js";
import { failpointAsync } from "../../lib/failpoint.js";

/** What the host side tells the patch side (set by the host manager; empty until agents exist). */
export interface HostsProvider {
  views(): HostPackageView[];
  /** One host's view (undefined when unknown); cheaper than views() for a single host. */
  view(hostname: string): HostPackageView | undefined;
  /** How many hosts are known. */
  count(): number;
  anyInstalling(): boolean;
  /** Asks every connected agent for a fresh report (after a repository change). */
  requestReports(): void;
}

const NO_HOSTS: HostsProvider = { views: () => [], view: () => undefined, count: () => 0, anyInstalling: () => false, requestReports: () => undefined };

/** Outcome texts of an operation, reference style: newline-terminated lines. */
export interface OpMessages {
  info: string;
  warning: string;
}

export type UploadOutcome = "imported" | "metadata-updated" | "committed-unchanged";

export interface PatchManagerOptions {
  store: Store;
  blobs: BlobPort;
  events: EventLog;
  log: Logger;
  /** Private temp dir for uploads (inside the data dir). */
  tmpDir: string;
  runningRelease: string;
  trust: () => TrustStore;
  limits?: Partial<PatchReadLimits>;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function lines(items: readonly string[]): string {
  return items.map((l) => `${l}\n`).join("");
}

/**
 * The patch repository: upload, apply, remove, delete, commit, dependency queries and states.
 * INVARIANTS: every mutation runs under `mutex`, writes sqlite in one transaction with its events,
 * and only after the commit updates the in-memory model and publishes the events. The in-memory
 * model is therefore always a committed state.
 */
export class PatchManager {
  private readonly patches = new Map<string, PatchRecord>();
  private readonly graph = new DependencyGraph();
  private base = new Map<string, PackageRecord[]>();
  private releases = new Set<string>();
  private interim = new Map<string, Set<string>>();
  private appDeps = new Map<string, string[]>();
  private hosts: HostsProvider = NO_HOSTS;
  private readonly mutex = new Mutex();
  private desiredCache = new Map<string, DesiredSet>();
  /** Bumped on every committed change; lets transport cache encoded query answers. */
  private versionCounter = 0;

  constructor(private readonly o: PatchManagerOptions) {}

  get version(): number {
    return this.versionCounter;
  }
  get runningRelease(): string {
    return this.o.runningRelease;
  }

  /** Loads the committed state, cleans temp files and reconciles blobs with the database. */
  async init(): Promise<void> {
    await fsp.rm(this.o.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(this.o.tmpDir, { recursive: true, mode: 0o700 });
    await this.o.blobs.init();
    await this.o.store.transact(async (tx) => {
      await tx.patches.insertRelease(this.o.runningRelease);
      // A crash between a commit and the removal of files leaves orphans: drop them now.
      const orphans = await tx.patches.orphanBlobs();
      await tx.patches.deleteBlobRows(orphans);
    });
    const read = this.o.store.read;
    const known = await read.knownBlobs();
    for (const sha of await this.o.blobs.list()) {
      if (!known.has(sha)) await this.o.blobs.remove(sha);
    }
    for (const p of await read.loadPatches()) {
      this.patches.set(p.meta.id, p);
      this.graph.set(p.meta.id, p.meta.requires);
    }
    this.base = await read.loadBasePackages();
    this.releases = new Set(await read.loadReleases());
    this.interim = await read.loadInterim();
    this.appDeps = await read.loadAppDependencies();
    this.refreshStates();
  }

  setHostsProvider(p: HostsProvider): void {
    this.hosts = p;
    this.refreshStates();
  }

  // ---------------------------------------------------------------- reads

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
    const want: RepoState | undefined =
      filter === "applied" ? "Applied" : filter === "available" ? "Available" : filter === "committed" ? "Committed" : undefined;
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

  queryDependencies(ids: readonly string[], recursive: boolean): string[] {
    const uniq = [...new Set(ids)];
    const unknownGiven = uniq.filter((id) => !this.patches.has(id)).sort();
    if (unknownGiven.length) throw notFound(lines(unknownGiven.map((id) => `${id} is unrecognized`)).trimEnd(), { reason: "PATCH_NOT_FOUND" });
    const c = this.graph.closure(uniq, recursive, (id) => this.patches.has(id));
    if (c.unknown.length) {
      throw failedPrecondition(
        c.unknown.map((id) => `${id} is required by: ${this.graph.dependentsOf(id).join(", ")} but is not uploaded`).join("\n"),
        { reason: "REQUIRED_PATCH_MISSING" },
      );
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
  desiredFor(host: HostPackageView): DesiredSet {
    const cached = this.desiredCache.get(host.hostname);
    if (cached) return cached;
    const d = desiredSetFor(host, this.basePackages(host.release), this.patches.values());
    this.desiredCache.set(host.hostname, d);
    return d;
  }

  /** Finds a stored package (patch or base) by sha256. */
  packagePath(sha256: string): string {
    return this.o.blobs.pathOf(sha256);
  }

  /** A package's bytes when small (cached for the next host), undefined when it must be streamed from packagePath. */
  packageBytes(sha256: string): Promise<Buffer | undefined> {
    return this.o.blobs.readSmall(sha256);
  }

  // ---------------------------------------------------------------- upload

  /**
   * Imports one .patch file streamed as chunks. Verified completely before anything is stored;
   * re-upload of a known id follows spec 8.1.
   */
  async upload(
    fileName: string,
    chunks: AsyncIterable<Uint8Array>,
    signal: AbortSignal,
  ): Promise<{ id: string; outcome: UploadOutcome; messages: OpMessages; patch: PatchRecord }> {
    const base = path.basename(fileName);
    if (!fileName || base !== fileName) throw invalidArgument(`file name must be a bare file name, got "${fileName}"`, { reason: "BAD_FILE_NAME" });
    if (!base.endsWith(".patch")) throw invalidArgument(`File must end in .patch extension: ${base}`, { reason: "BAD_FILE_NAME" });
    const fileId = base.slice(0, -".patch".length);
    if (!SAFE_ID.test(fileId)) throw invalidArgument(`Unsafe patch id in file name: ${base}`, { reason: "BAD_FILE_NAME" });

    const verified = await readPatch(chunks, {
      trust: this.o.trust(),
      workDir: this.o.tmpDir,
      signal,
      ...(this.o.limits ? { limits: this.o.limits } : {}),
    });
    try {
      const meta: PatchMeta = { ...verified.metadata, semantics: [...verified.metadata.semantics] };
      if (meta.id !== fileId) {
        throw invalidArgument(`Patch id ${meta.id} does not match the file name ${base} (must be ${meta.id}.patch)`, {
          reason: "ID_FILE_NAME_MISMATCH",
          patchId: meta.id,
        });
      }
      // Identity of the signed content: the sha256 of its signature.v2 (tiny, always spooled).
      const fileSha = verified.members.find((m) => m.name === "signature.v2")?.sha256 ?? "";
      return await this.mutex.run(async () => {
        const existing = this.patches.get(meta.id);
        if (existing) return this.reimport(existing, meta, verified.metadataXml, verified.signer);
        return this.importNew(meta, verified, fileSha);
      });
    } finally {
      await verified.cleanup();
    }
  }

  private async reimport(existing: PatchRecord, meta: PatchMeta, xml: string, signer: string) {
    const id = meta.id;
    const a = [...existing.meta.contents].sort();
    const b = [...meta.contents].sort();
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      throw failedPrecondition(`Contents of ${id} do not match re-imported patch`, { reason: "CONTENTS_MISMATCH", patchId: id });
    }
    if (existing.repoState === "Committed") {
      return { id, outcome: "committed-unchanged" as const, messages: { info: `${id} is committed. Metadata not updated\n`, warning: "" }, patch: existing };
    }
    const next: PatchRecord = { ...existing, meta, metadataXml: xml, signer };
    const events = await this.o.store.transact(async (tx) => {
      await tx.patches.updatePatchMetadata(id, meta, xml, signer);
      const ev = [await this.o.events.append(tx, { kind: "patch.metadata-updated", patchId: id, message: `${id} is already imported. Updated metadata only` })];
      return ev.concat(await this.stateEvents(tx, [next]));
    });
    this.commitMemory([next], [], events);
    return {
      id,
      outcome: "metadata-updated" as const,
      messages: { info: `${id} is already imported. Updated metadata only\n`, warning: "" },
      patch: this.patches.get(id)!,
    };
  }

  private async importNew(meta: PatchMeta, verified: Awaited<ReturnType<typeof readPatch>>, fileSha: string) {
    const id = meta.id;
    if (!this.releases.has(meta.swVersion)) {
      throw failedPrecondition(`Patch ${id} software release (${meta.swVersion}) is not installed`, { reason: "RELEASE_NOT_INSTALLED", patchId: id });
    }
    const packages: PackageRecord[] = verified.rpms.map((r) => ({
      fileName: r.fileName,
      name: r.name,
      epoch: r.epoch === null || r.epoch === undefined ? "" : String(r.epoch),
      version: r.version,
      release: r.release,
      arch: r.arch,
      sha256: r.sha256,
      size: r.size,
    }));
    const baseByName = new Map<string, PackageRecord>();
    for (const b of this.basePackages(meta.swVersion)) {
      const cur = baseByName.get(`${b.name}.${b.arch}`);
      if (!cur || compareEvr(b, cur) > 0) baseByName.set(`${b.name}.${b.arch}`, b);
    }
    for (const k of packages) {
      const orig = baseByName.get(`${k.name}.${k.arch}`);
      if (orig && compareEvr(k, orig) <= 0) {
        throw failedPrecondition(`RPM ${k.fileName} in patch ${id} must be higher version than original (${orig.version}-${orig.release})`, {
          reason: "RPM_NOT_NEWER",
          patchId: id,
        });
      }
      for (const other of this.patches.values()) {
        if (other.meta.swVersion !== meta.swVersion) continue;
        if (other.packages.some((o) => o.name === k.name && o.arch === k.arch && compareEvr(o, k) === 0)) {
          throw failedPrecondition(`Patch ${id} contains rpm ${k.fileName}, which is already provided by patch ${other.meta.id}`, {
            reason: "RPM_ALREADY_PROVIDED",
            patchId: id,
          });
        }
      }
    }
    await failpointAsync("upload:verified");
    // Files first (content-addressed, durable), then the rows that point at them.
    for (const r of verified.rpms) await this.o.blobs.put(r.path, r.sha256, { move: true });
    await failpointAsync("upload:blobs-stored");
    const semantics: { action: string; sha256: string; size: number }[] = [];
    for (const s of verified.semantics) {
      const h = await hashFile(s.path);
      await this.o.blobs.put(s.path, h.sha256, { move: true });
      semantics.push({ action: s.action, sha256: h.sha256, size: h.size });
    }
    const rec: PatchRecord = {
      meta,
      repoState: "Available",
      patchState: "n/a",
      metadataXml: verified.metadataXml,
      signer: verified.signer,
      fileSha256: fileSha,
      uploadedAt: new Date(),
      packages,
      semantics: semantics.map(({ action, sha256 }) => ({ action, sha256 })),
    };
    const events = await this.o.store.transact(async (tx) => {
      for (const k of packages) await tx.patches.insertBlob(k.sha256, k.size);
      for (const s of semantics) await tx.patches.insertBlob(s.sha256, s.size);
      await tx.patches.insertPatch(rec);
      const ev = [await this.o.events.append(tx, { kind: "patch.uploaded", patchId: id, newState: "Available", message: `${id} is now available` })];
      await failpointAsync("upload:in-transaction");
      return ev.concat(await this.stateEvents(tx, [rec]));
    });
    this.commitMemory([rec], [], events);
    return { id, outcome: "imported" as const, messages: { info: `${id} is now available\n`, warning: "" }, patch: this.patches.get(id)! };
  }

  // ---------------------------------------------------------------- apply / remove

  async apply(ids: readonly string[], opts: { all?: boolean; skipSemantic?: boolean } = {}): Promise<{ messages: OpMessages; applied: string[] }> {
    return this.mutex.run(async () => {
      this.rejectWhileInstalling();
      let list: string[];
      if (opts.all) {
        list = this.all().filter((p) => p.repoState === "Available").map((p) => p.meta.id);
        if (list.length === 0) return { messages: { info: "There are no available patches to be applied.\n", warning: "" }, applied: [] };
      } else {
        list = [...new Set(ids)].sort();
        if (list.length === 0) throw invalidArgument("patch_ids: at least one patch id (or all) is required");
        this.requireKnown(list);
      }
      const upgrade = list.filter((id) => {
        const p = this.patches.get(id)!;
        return p.meta.applyActiveReleaseOnly && p.meta.swVersion !== this.o.runningRelease;
      });
      if (upgrade.length) throw failedPrecondition(upgrade.map((id) => `${id} cannot be applied in an upgrade`).join("\n"), { reason: "UPGRADE_APPLY_REFUSED" });
      const inSet = new Set(list);
      const missing = new Map<string, string[]>();
      for (const id of list) {
        for (const req of this.patches.get(id)!.meta.requires) {
          if (inSet.has(req)) continue;
          const r = this.patches.get(req);
          if (!r || r.repoState === "Available") missing.set(req, [...(missing.get(req) ?? []), id]);
        }
      }
      if (missing.size) {
        throw failedPrecondition(
          [...missing.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([req, by]) => `${req} is required by: ${by.sort().join(", ")}`).join("\n"),
          { reason: "REQUIREMENT_NOT_APPLIED" },
        );
      }
      if (!opts.skipSemantic) await this.runSemanticChecks(list, "pre-apply");
      const info: string[] = [];
      const changed: PatchRecord[] = [];
      for (const id of list) {
        const p = this.patches.get(id)!;
        if (p.repoState !== "Available") info.push(`${id} is already in the repo`);
        else {
          changed.push({ ...p, repoState: "Applied" });
          info.push(`${id} is now in the repo`);
        }
      }
      await this.writeRepoChanges(changed, "patch.applied");
      return { messages: { info: lines(info), warning: "" }, applied: changed.map((p) => p.meta.id) };
    });
  }

  async remove(
    ids: readonly string[],
    opts: { skipSemantic?: boolean; skipAppCheck?: boolean; removeUnremovable?: boolean } = {},
  ): Promise<{ messages: OpMessages; removed: string[] }> {
    return this.mutex.run(async () => {
      this.rejectWhileInstalling();
      const list = [...new Set(ids)].sort();
      if (list.length === 0) throw invalidArgument("patch_ids: at least one patch id is required");
      this.requireKnown(list);
      const warnings: string[] = [];
      const errors: string[] = [];
      for (const id of list) {
        const p = this.patches.get(id)!;
        if (p.meta.unremovable) {
          if (opts.removeUnremovable) warnings.push(`Unremovable patch ${id} being removed`);
          else errors.push(`Patch ${id} is not removable`);
        }
        if (p.repoState === "Committed") errors.push(`Patch ${id} is committed and cannot be removed`);
      }
      if (errors.length) throw failedPrecondition(errors.join("\n"), { reason: "NOT_REMOVABLE" });
      const inSet = new Set(list);
      const deps: string[] = [];
      for (const id of list) {
        const by = this.graph.dependentsOf(id).filter((d) => !inSet.has(d) && this.patches.get(d)?.repoState !== "Available");
        if (by.length) deps.push(`${id} is required by: ${by.join(", ")}`);
      }
      if (deps.length) throw failedPrecondition(deps.join("\n"), { reason: "REQUIRED_BY_APPLIED" });
      if (!opts.skipAppCheck) {
        const appErr: string[] = [];
        for (const id of list) {
          const apps = this.appDependencies().filter((a) => a.patchIds.includes(id)).map((a) => a.app);
          if (apps.length) appErr.push(`${id} is required by application(s): ${apps.join(", ")}`);
        }
        if (appErr.length) throw failedPrecondition(appErr.join("\n"), { reason: "REQUIRED_BY_APPLICATION" });
      }
      if (!opts.skipSemantic) await this.runSemanticChecks(list, "pre-remove");
      const info: string[] = [];
      const changed: PatchRecord[] = [];
      for (const id of list) {
        const p = this.patches.get(id)!;
        if (p.repoState === "Available") info.push(`${id} is not in the repo`);
        else {
          changed.push({ ...p, repoState: "Available" });
          info.push(`${id} has been removed from the repo`);
        }
      }
      await this.writeRepoChanges(changed, "patch.removed");
      return { messages: { info: lines(info), warning: lines(warnings) }, removed: changed.map((p) => p.meta.id) };
    });
  }

  private async writeRepoChanges(changed: PatchRecord[], kind: string): Promise<void> {
    if (changed.length === 0) return;
    const hostnames = this.hosts.views().map((h) => h.hostname);
    const events = await this.o.store.transact(async (tx) => {
      const ev: DomainEvent[] = [];
      for (const p of changed) {
        const old = this.patches.get(p.meta.id)!;
        await tx.patches.setRepoState(p.meta.id, p.repoState);
        await tx.patches.setInterim(p.meta.id, hostnames);
        ev.push(await this.o.events.append(tx, { kind, patchId: p.meta.id, oldState: old.repoState, newState: p.repoState }));
        await failpointAsync(`${kind}:in-transaction`);
      }
      const interim = new Map(this.interim);
      for (const p of changed) interim.set(p.meta.id, new Set(hostnames));
      return ev.concat(await this.stateEvents(tx, changed, interim));
    });
    for (const p of changed) {
      if (hostnames.length) this.interim.set(p.meta.id, new Set(hostnames));
      else this.interim.delete(p.meta.id);
    }
    this.commitMemory(changed, [], events);
    this.hosts.requestReports();
  }

  // ---------------------------------------------------------------- delete / commit

  async delete(ids: readonly string[]): Promise<{ messages: OpMessages; deleted: string[] }> {
    return this.mutex.run(async () => {
      const list = [...new Set(ids)].sort();
      if (list.length === 0) throw invalidArgument("patch_ids: at least one patch id is required");
      this.requireKnown(list);
      const bad = list.filter((id) => {
        const p = this.patches.get(id)!;
        return p.repoState !== "Available" || !(p.patchState === "Available" || p.patchState === "n/a");
      });
      if (bad.length) throw failedPrecondition(bad.map((id) => `Patch ${id} not in Available state`).join("\n"), { reason: "NOT_AVAILABLE" });
      let orphans: string[] = [];
      const events = await this.o.store.transact(async (tx) => {
        const ev: DomainEvent[] = [];
        for (const id of list) {
          await tx.patches.deletePatch(id);
          ev.push(await this.o.events.append(tx, { kind: "patch.deleted", patchId: id, oldState: "Available", message: `${id} has been deleted` }));
        }
        orphans = await tx.patches.orphanBlobs();
        await tx.patches.deleteBlobRows(orphans);
        await failpointAsync("delete:in-transaction");
        return ev;
      });
      await failpointAsync("delete:committed");
      for (const sha of orphans) await this.o.blobs.remove(sha);
      this.commitMemory([], list, events);
      return { messages: { info: lines(list.map((id) => `${id} has been deleted`)), warning: "" }, deleted: list };
    });
  }

  async commit(opts: { ids?: readonly string[]; all?: boolean; release?: string; dryRun?: boolean }): Promise<{
    messages: OpMessages;
    patchIds: string[];
    freedBytes: number;
  }> {
    return this.mutex.run(async () => {
      let ids: string[];
      if (opts.all) {
        const rel = opts.release || this.o.runningRelease;
        ids = this.all().filter((p) => p.meta.swVersion === rel).map((p) => p.meta.id);
        if (ids.length === 0) return { messages: { info: `There are no ${rel} patches to commit.\n`, warning: "" }, patchIds: [], freedBytes: 0 };
      } else {
        if (opts.release) throw invalidArgument("Use of --release option requires --all");
        ids = [...new Set(opts.ids ?? [])].sort();
        if (ids.length === 0) throw invalidArgument("patch_ids: at least one patch id (or all) is required");
      }
      const nonRel = this.all().filter((p) => p.meta.status !== "REL").map((p) => p.meta.id);
      if (nonRel.length) {
        throw failedPrecondition(`A commit cannot be performed with non-REL status patches in the system:\n${nonRel.map((id) => `    ${id}\n`).join("")}`.trimEnd(), {
          reason: "NON_REL_PATCHES",
        });
      }
      const unknown = ids.filter((id) => !this.patches.has(id));
      if (unknown.length) throw notFound(unknown.map((id) => `${id} is unrecognized`).join("\n"), { reason: "PATCH_NOT_FOUND" });
      const closure = this.queryDependencies(ids, true);
      const notApplied = closure.filter((id) => {
        const p = this.patches.get(id)!;
        const ok = p.patchState === "Applied" || p.patchState === "Committed" || (p.patchState === "n/a" && p.repoState !== "Available");
        return !ok;
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
        const p = this.patches.get(id)!;
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
        return { messages: { info: `This commit operation would free ${(freed / 1048576).toFixed(2)} MiB\n`, warning: "" }, patchIds: closure, freedBytes: freed };
      }
      const changed = closure.map((id) => {
        const p = this.patches.get(id)!;
        const drop = new Set(reclaim.filter((x) => x.patchId === id).map((x) => x.pkg.fileName));
        return { ...p, repoState: "Committed" as const, packages: p.packages.filter((k) => !drop.has(k.fileName)) };
      });
      let orphans: string[] = [];
      const events = await this.o.store.transact(async (tx) => {
        const ev: DomainEvent[] = [];
        for (const p of changed) {
          const old = this.patches.get(p.meta.id)!;
          await tx.patches.setRepoState(p.meta.id, "Committed");
          if (old.repoState !== "Committed") {
            ev.push(await this.o.events.append(tx, { kind: "patch.committed", patchId: p.meta.id, oldState: old.repoState, newState: "Committed" }));
          }
        }
        for (const x of reclaim) await tx.patches.markReclaimed(x.patchId, x.pkg.fileName);
        orphans = await tx.patches.orphanBlobs();
        await tx.patches.deleteBlobRows(orphans);
        await failpointAsync("commit:in-transaction");
        return ev.concat(await this.stateEvents(tx, changed));
      });
      await failpointAsync("commit:committed");
      for (const sha of orphans) await this.o.blobs.remove(sha);
      this.commitMemory(changed, [], events);
      return { messages: { info: "The patches have been committed.\n", warning: "" }, patchIds: closure, freedBytes: freed };
    });
  }

  // ---------------------------------------------------------------- apps and releases

  async reportAppDependencies(app: string, ids: readonly string[]): Promise<void> {
    if (!app) throw invalidArgument("Application name must be specified with --app argument.", { reason: "APP_REQUIRED" });
    if (!/^[A-Za-z0-9._:@/-]{1,128}$/.test(app)) throw invalidArgument(`app: invalid application name "${app}"`);
    const list = [...new Set(ids)].sort();
    for (const id of list) if (!SAFE_ID.test(id)) throw invalidArgument(`patch_ids: invalid patch id "${id}"`);
    await this.mutex.run(async () => {
      const events = await this.o.store.transact(async (tx) => {
        await tx.patches.setAppDependencies(app, list);
        return [await this.o.events.append(tx, { kind: "app.dependencies", message: `${app}: ${list.join(", ")}` })];
      });
      if (list.length) this.appDeps.set(app, list);
      else this.appDeps.delete(app);
      this.versionCounter++;
      this.o.events.publish(events);
    });
  }

  async initRelease(release: string): Promise<OpMessages> {
    this.checkRelease(release);
    return this.mutex.run(async () => {
      if (this.releases.has(release)) return { info: `Patch repository for ${release} already exists\n`, warning: "" };
      const events = await this.o.store.transact(async (tx) => {
        await tx.patches.insertRelease(release);
        return [await this.o.events.append(tx, { kind: "release.created", message: release })];
      });
      this.releases.add(release);
      this.versionCounter++;
      this.o.events.publish(events);
      return { info: `Patch repository for ${release} has been created\n`, warning: "" };
    });
  }

  async delRelease(release: string): Promise<OpMessages> {
    this.checkRelease(release);
    return this.mutex.run(async () => {
      if (!this.releases.has(release)) throw notFound(`Release ${release} is not known`, { reason: "RELEASE_NOT_FOUND" });
      const ids = this.all().filter((p) => p.meta.swVersion === release).map((p) => p.meta.id);
      let orphans: string[] = [];
      const events = await this.o.store.transact(async (tx) => {
        const ev: DomainEvent[] = [];
        for (const id of ids) {
          await tx.patches.deletePatch(id);
          ev.push(await this.o.events.append(tx, { kind: "patch.deleted", patchId: id, message: `${id} has been deleted` }));
        }
        await tx.patches.deleteRelease(release);
        ev.push(await this.o.events.append(tx, { kind: "release.deleted", message: release }));
        orphans = await tx.patches.orphanBlobs();
        await tx.patches.deleteBlobRows(orphans);
        return ev;
      });
      for (const sha of orphans) await this.o.blobs.remove(sha);
      this.releases.delete(release);
      this.base.delete(release);
      this.commitMemory([], ids, events);
      return { info: `Release ${release} has been deleted\n`, warning: "" };
    });
  }

  private checkRelease(release: string): void {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(release)) throw invalidArgument(`release: invalid release "${release}"`);
    if (release === this.o.runningRelease) throw failedPrecondition(`Rejected: Requested release ${release} is running release`, { reason: "RUNNING_RELEASE" });
  }

  /** Imports every *.rpm of `dir` into the base feed of `release` (skips known files). */
  async importBaseFeed(release: string, dir: string): Promise<{ added: number; total: number }> {
    const names = (await fsp.readdir(dir)).filter((n) => n.endsWith(".rpm")).sort();
    let added = 0;
    for (const n of names) if ((await this.importBasePackage(release, path.join(dir, n), n)).added) added++;
    return { added, total: names.length };
  }

  /** Imports one RPM file into a release's base feed; the header decides name and version. */
  async importBasePackage(release: string, file: string, fileName: string): Promise<{ pkg: PackageRecord; added: boolean }> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(release)) throw invalidArgument(`release: invalid release "${release}"`);
    if (path.basename(fileName) !== fileName || !fileName.endsWith(".rpm")) throw invalidArgument(`file_name: must be a bare *.rpm name, got "${fileName}"`);
    const h = await readRpmHeader(file, fileName);
    if (h.isSource) throw invalidArgument(`${fileName} is a source package`);
    const expect = rpmFileNameOf(h);
    if (expect !== fileName) throw invalidArgument(`RPM file name ${fileName} does not match its header (${expect})`);
    const existing = this.basePackages(release).find((p) => p.fileName === fileName);
    const { sha256, size } = await hashFile(file);
    if (existing) {
      if (existing.sha256 !== sha256) throw failedPrecondition(`Base feed of ${release} already has a different ${fileName}`);
      return { pkg: existing, added: false };
    }
    const pkg: PackageRecord = {
      fileName,
      name: h.name,
      epoch: h.epoch === null ? "" : String(h.epoch),
      version: h.version,
      release: h.release,
      arch: h.arch,
      sha256,
      size,
    };
    return this.mutex.run(async () => {
      await this.o.blobs.put(file, sha256);
      const events = await this.o.store.transact(async (tx) => {
        await tx.patches.insertRelease(release);
        await tx.patches.insertBlob(sha256, size);
        await tx.patches.insertBasePackage(release, pkg);
        return [await this.o.events.append(tx, { kind: "base.package-imported", message: `${release}/${fileName}` })];
      });
      this.releases.add(release);
      this.base.set(release, [...this.basePackages(release), pkg]);
      this.desiredCache.clear();
      this.versionCounter++;
      this.o.events.publish(events);
      return { pkg, added: true };
    });
  }

  // ---------------------------------------------------------------- host reports

  /**
   * Called when a host reports fresh package data: clears it from the interim lists and
   * recomputes states, inside the caller's transaction. Returns events to publish after commit.
   */
  async onHostReport(tx: StoreTx, hostname: string): Promise<DomainEvent[]> {
    return this.onHostReports(tx, [hostname]);
  }

  /**
   * Reports of several hosts written in one transaction (their records already updated in
   * memory): each leaves the interim lists, and the patch states are recomputed once for all.
   */
  async onHostReports(tx: StoreTx, hostnames: readonly string[]): Promise<DomainEvent[]> {
    let interim = this.interim;
    this.pendingInterim = undefined;
    const leaving = [...new Set(hostnames)].filter((h) => [...this.interim.values()].some((s) => s.has(h)));
    if (leaving.length) {
      for (const h of leaving) await tx.patches.clearInterimForHost(h);
      interim = new Map<string, Set<string>>();
      for (const [id, s] of this.interim) {
        const n = new Set(s);
        for (const h of leaving) n.delete(h);
        if (n.size) interim.set(id, n);
      }
      this.pendingInterim = interim;
    }
    return this.stateEvents(tx, [], interim, hostnames);
  }
  private pendingInterim: Map<string, Set<string>> | undefined;

  /** After the host transaction committed: adopt interim lists and states, publish events. */
  afterHostCommit(events: DomainEvent[], hostnames?: readonly string[]): void {
    if (this.pendingInterim) this.interim = this.pendingInterim;
    this.pendingInterim = undefined;
    this.commitMemory([], [], events, hostnames);
  }

  /** Runs `fn` under the patch mutex (host operations that must not interleave with apply/remove). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  // ---------------------------------------------------------------- internals

  private requireKnown(ids: readonly string[]): void {
    const missing = ids.filter((id) => !this.patches.has(id));
    if (missing.length) throw notFound(missing.map((id) => `Patch ${id} does not exist`).join("\n"), { reason: "PATCH_NOT_FOUND" });
  }

  private rejectWhileInstalling(): void {
    if (this.hosts.anyInstalling()) throw failedPrecondition("Rejected: One or more nodes are installing patches.", { reason: "HOSTS_INSTALLING" });
  }

  private async runSemanticChecks(ids: readonly string[], action: "pre-apply" | "pre-remove"): Promise<void> {
    const args: string[] = [];
    for (const p of this.all()) args.push("-p", `${p.meta.id}=${p.patchState}`);
    for (const id of ids) {
      const s = this.patches.get(id)!.semantics.find((x) => x.action === action);
      if (!s) continue;
      const script = this.o.blobs.pathOf(s.sha256);
      const out = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile("/bin/sh", [script, ...args], { timeout: 300_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
          resolve({ code, output: `${stdout}${stderr}` });
        });
      });
      if (out.code !== 0) {
        throw failedPrecondition(`Semantic check failed for ${id}:\n${out.output}`.trimEnd(), { reason: "SEMANTIC_CHECK_FAILED", patchId: id });
      }
    }
  }

  /**
   * Records with their proposed changes -> patch.state events for every state that changes.
   * With `hostsChanged` (host reports, no patch change) only those hosts' needs are recomputed;
   * otherwise every host's. The result is kept for `commitMemory` to adopt after the commit.
   */
  private async stateEvents(tx: StoreTx, changed: readonly PatchRecord[], interim = this.interim, hostsChanged?: readonly string[]): Promise<DomainEvent[]> {
    let records: PatchRecord[];
    if (changed.length === 0) records = [...this.patches.values()];
    else {
      const next = new Map(this.patches);
      for (const p of changed) next.set(p.meta.id, p);
      records = [...next.values()];
    }
    // Host reports with no patch change recompute those hosts alone (no view of every host).
    let needs: Map<string, Set<string>>;
    if (changed.length === 0 && hostsChanged !== undefined && this.needsValid) {
      needs = this.needs;
      for (const h of new Set(hostsChanged)) needs = this.needsWithHost(records, this.hosts.view(h), h, needs);
    } else needs = this.computeNeeds(records, this.hosts.views());
    const anyHost = this.hosts.count() > 0;
    const states = new Map<string, PatchStateName>();
    for (const p of records) {
      states.set(p.meta.id, patchStateOf(p, anyHost, (interim.get(p.meta.id)?.size ?? 0) > 0, needs.get(p.meta.id)?.size ?? 0));
    }
    this.pending = { needs, states };
    const ev: DomainEvent[] = [];
    for (const [id, st] of states) {
      const old = this.patches.get(id)?.patchState;
      if (old !== st) ev.push(await this.o.events.append(tx, { kind: "patch.state", patchId: id, oldState: old ?? "", newState: st }));
    }
    return ev;
  }

  /** patch id -> hosts that still have to change for it; every host. */
  private computeNeeds(records: readonly PatchRecord[], views: readonly HostPackageView[]): Map<string, Set<string>> {
    const needs = new Map<string, Set<string>>();
    for (const h of views) this.addHostNeeds(needs, records, h, true);
    return needs;
  }

  /** The current needs with one host recomputed (copy-on-write of the sets that change only). */
  private needsWithHost(records: readonly PatchRecord[], h: HostPackageView | undefined, hostname: string, base = this.needs): Map<string, Set<string>> {
    const now = new Set<string>();
    if (h) {
      let desired: DesiredSet | undefined;
      const lazy = () => (desired ??= desiredSetFor(h, this.basePackages(h.release), records.values()));
      for (const p of records) if (hostNeedsPatch(p, h, lazy)) now.add(p.meta.id);
    }
    let needs: Map<string, Set<string>> | undefined;
    for (const [id, set] of base) {
      if (set.has(hostname) && !now.has(id)) {
        needs ??= new Map(base);
        const copy = new Set(set);
        copy.delete(hostname);
        needs.set(id, copy);
      }
    }
    for (const id of now) {
      const set = base.get(id);
      if (set?.has(hostname)) continue;
      needs ??= new Map(base);
      needs.set(id, set ? new Set([...set, hostname]) : new Set([hostname]));
    }
    return needs ?? base;
  }

  private addHostNeeds(needs: Map<string, Set<string>>, records: readonly PatchRecord[], h: HostPackageView, owned: boolean): void {
    let desired: DesiredSet | undefined;
    const byId = new Map(records.map((r) => [r.meta.id, r]));
    const lazy = () => (desired ??= desiredSetFor(h, this.basePackages(h.release), byId.values()));
    for (const p of records) {
      if (!hostNeedsPatch(p, h, lazy)) continue;
      const set = needs.get(p.meta.id);
      if (!set) needs.set(p.meta.id, new Set([h.hostname]));
      else if (owned) set.add(h.hostname);
      else needs.set(p.meta.id, new Set([...set, h.hostname]));
    }
  }

  private needs = new Map<string, Set<string>>();
  private needsValid = false;
  private pending: { needs: Map<string, Set<string>>; states: Map<string, PatchStateName> } | undefined;

  /** Recomputes every state from committed data (start-up, a new hosts provider). */
  refreshStates(): void {
    this.desiredCache.clear();
    const records = [...this.patches.values()];
    const views = this.hosts.views();
    this.needs = this.computeNeeds(records, views);
    this.needsValid = true;
    for (const p of records) {
      p.patchState = patchStateOf(p, views.length > 0, (this.interim.get(p.meta.id)?.size ?? 0) > 0, this.needs.get(p.meta.id)?.size ?? 0);
    }
    this.versionCounter++;
  }

  /** `hostOnly`: hosts' reports changed nothing but those hosts (their desired sets alone are stale). */
  private commitMemory(changed: readonly PatchRecord[], deleted: readonly string[], events: DomainEvent[], hostOnly?: readonly string[]): void {
    for (const id of deleted) {
      this.patches.delete(id);
      this.graph.delete(id);
      this.interim.delete(id);
    }
    for (const p of changed) {
      this.patches.set(p.meta.id, p);
      this.graph.set(p.meta.id, p.meta.requires);
    }
    const pending = this.pending;
    this.pending = undefined;
    if (pending && deleted.length === 0) {
      // Adopt exactly what the transaction's events were computed from.
      if (hostOnly !== undefined && changed.length === 0) for (const h of hostOnly) this.desiredCache.delete(h);
      else this.desiredCache.clear();
      this.needs = pending.needs;
      let stateChanged = changed.length > 0;
      for (const [id, st] of pending.states) {
        const p = this.patches.get(id);
        if (p && p.patchState !== st) {
          p.patchState = st;
          stateChanged = true;
        }
      }
      // Query answers (cached by version) show patch states only: a report that changes none
      // leaves them valid.
      if (stateChanged || hostOnly === undefined) this.versionCounter++;
    } else {
      this.refreshStates();
    }
    this.o.events.publish(events);
  }
}

export { DomainError };
