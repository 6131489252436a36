import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { readPatch, type TrustStore, type PatchReadLimits, type PatchSignerPolicy, type UploadBudget } from "../patchfile/index.js";
import { readRpmHeader, rpmFileNameOf } from "../rpm/index.js";
import { failpointAsync } from "../../lib/failpoint.js";
import { hashFile } from "../../lib/hash-file.js";
import type { BlobPort } from "../store.js";
import type { UnitOfWork } from "../unit-of-work.js";
import { decideBaseImport, type BaseImporter } from "./base-policy.js";
import type { PackageRecord, PatchMeta, PatchRecord } from "./model.js";
import type { PatchCatalog } from "./patch-catalog.js";
import { compareEvr } from "./state.js";

export type UploadOutcome = "imported" | "metadata-updated" | "committed-unchanged";

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Imports: patch uploads (verified completely before anything is stored; re-import rules of spec
 * 8.1) and RPMs into a release's base feed.
 * INVARIANTS: checks against the catalog and the writes run under the unit of work's lock; blobs
 * are stored before the rows that point at them.
 */
export class PatchImport {
  constructor(
    private readonly o: {
      catalog: PatchCatalog;
      uow: UnitOfWork;
      blobs: BlobPort;
      tmpDir: string;
      trust: () => TrustStore;
      /** With a root of trust (issue 21): the policy signature.dsse must meet; throws when the root has expired. */
      patchSigners?: () => PatchSignerPolicy | undefined;
      limits?: Partial<PatchReadLimits>;
      /** Shared bound on uploads in flight (see readPatch's `budget`). */
      budget?: UploadBudget;
    },
  ) {}

  private get c(): PatchCatalog {
    return this.o.catalog;
  }

  /**
   * Imports one .patch file streamed as chunks. Verified completely before anything is stored;
   * re-upload of a known id follows spec 8.1.
   */
  async upload(fileName: string, chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<{ id: string; outcome: UploadOutcome; patch: PatchRecord }> {
    const base = path.basename(fileName);
    if (!fileName || base !== fileName) throw invalidArgument(`file name must be a bare file name, got "${fileName}"`, { reason: "BAD_FILE_NAME" });
    if (!base.endsWith(".patch")) throw invalidArgument(`File must end in .patch extension: ${base}`, { reason: "BAD_FILE_NAME" });
    const fileId = base.slice(0, -".patch".length);
    if (!SAFE_ID.test(fileId)) throw invalidArgument(`Unsafe patch id in file name: ${base}`, { reason: "BAD_FILE_NAME" });

    const patchSigners = this.o.patchSigners?.();
    const verified = await readPatch(chunks, {
      trust: this.o.trust(),
      ...(patchSigners ? { patchSigners } : {}),
      workDir: this.o.tmpDir,
      signal,
      ...(this.o.limits ? { limits: this.o.limits } : {}),
      ...(this.o.budget ? { budget: this.o.budget } : {}),
    });
    // Under a root of trust, a signature.v2 no trusted key verifies is not needed: name the root instead.
    if (patchSigners && verified.signatureScheme === null) verified.signer = `trust-root-v${patchSigners.rootVersion}`;
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
      return await this.o.uow.exclusive(async () => {
        const existing = this.c.get(meta.id);
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
      return { id, outcome: "committed-unchanged" as const, patch: existing };
    }
    const next: PatchRecord = { ...existing, meta, metadataXml: xml, signer };
    await this.o.uow.commit(async (w) => {
      await w.tx.patches.updatePatchMetadata(id, meta, xml, signer);
      await w.event({ kind: "patch.metadata-updated", patchId: id, message: `${id} is already imported. Updated metadata only` });
      const snapshot = await this.c.statesAfterChange(w, [next]);
      w.afterCommit(() => this.c.adopt({ changed: [next], snapshot }));
    });
    return {
      id,
      outcome: "metadata-updated" as const,
      patch: this.c.get(id)!,
    };
  }

  private async importNew(meta: PatchMeta, verified: Awaited<ReturnType<typeof readPatch>>, fileSha: string) {
    const id = meta.id;
    if (!this.c.releases.has(meta.swVersion)) {
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
    for (const b of this.c.basePackages(meta.swVersion)) {
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
      for (const other of this.c.patches.values()) {
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
    await this.o.uow.commit(async (w) => {
      for (const k of packages) await w.tx.patches.insertBlob(k.sha256, k.size);
      for (const s of semantics) await w.tx.patches.insertBlob(s.sha256, s.size);
      await w.tx.patches.insertPatch(rec);
      await w.event({ kind: "patch.uploaded", patchId: id, newState: "Available", message: `${id} is now available` });
      await failpointAsync("upload:in-transaction");
      const snapshot = await this.c.statesAfterChange(w, [rec]);
      w.afterCommit(() => this.c.adopt({ changed: [rec], snapshot }));
    });
    return { id, outcome: "imported" as const, patch: this.c.get(id)! };
  }

  /**
   * Imports every *.rpm of `dir` into the base feed of `release` (skips known files) in one
   * transaction; the patch states are recomputed once. Used for `--base-feed` at start (host root).
   */
  async importBaseFeed(release: string, dir: string, importer: BaseImporter = "base-feed"): Promise<{ added: number; total: number }> {
    const names = (await fsp.readdir(dir)).filter((n) => n.endsWith(".rpm")).sort();
    const r = await this.importBase(
      release,
      names.map((n) => ({ file: path.join(dir, n), fileName: n })),
      importer,
    );
    return { added: r.filter((x) => x.added).length, total: names.length };
  }

  /**
   * Imports one RPM file into a release's base feed; the header decides name and version. Only
   * signed material from operators; unsigned from admins (recorded as such): see base-policy.ts.
   * @throws DomainError not-found for an unknown release (InitRelease creates it; admin),
   *   permission-denied by the base policy, invalid-argument for a bad file, failed-precondition
   *   for a different file under a name the feed already has.
   */
  async importBasePackage(
    release: string,
    file: string,
    fileName: string,
    opts: { importer: BaseImporter; signature?: Uint8Array },
  ): Promise<{ pkg: PackageRecord; added: boolean }> {
    return (await this.importBase(release, [{ file, fileName, ...(opts.signature ? { signature: opts.signature } : {}) }], opts.importer))[0];
  }

  private async importBase(
    release: string,
    items: readonly { file: string; fileName: string; signature?: Uint8Array }[],
    importer: BaseImporter,
  ): Promise<{ pkg: PackageRecord; added: boolean }[]> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(release)) throw invalidArgument(`release: invalid release "${release}"`);
    this.requireRelease(release);
    const pkgs: PackageRecord[] = [];
    for (const it of items) {
      const fileName = it.fileName;
      if (path.basename(fileName) !== fileName || !fileName.endsWith(".rpm")) throw invalidArgument(`file_name: must be a bare *.rpm name, got "${fileName}"`);
      const h = await readRpmHeader(it.file, fileName);
      if (h.isSource) throw invalidArgument(`${fileName} is a source package`);
      const expect = rpmFileNameOf(h);
      if (expect !== fileName) throw invalidArgument(`RPM file name ${fileName} does not match its header (${expect})`);
      const { sha256, size } = await hashFile(it.file);
      const provenance = decideBaseImport({ importer, release, fileName, sha256, signature: it.signature, trust: this.o.trust(), now: new Date() });
      pkgs.push({
        fileName,
        name: h.name,
        epoch: h.epoch === null ? "" : String(h.epoch),
        version: h.version,
        release: h.release,
        arch: h.arch,
        sha256,
        size,
        provenance,
      });
    }
    // The existing-file check and the insert under one lock: of two imports of one name, one adds it.
    return this.o.uow.exclusive(async () => {
      this.requireRelease(release);
      const known = new Map(this.c.basePackages(release).map((p) => [p.fileName, p]));
      const out: { pkg: PackageRecord; added: boolean }[] = [];
      const fresh: PackageRecord[] = [];
      for (const [i, pkg] of pkgs.entries()) {
        const existing = known.get(pkg.fileName);
        if (existing) {
          if (existing.sha256 !== pkg.sha256) {
            throw failedPrecondition(`Base feed of ${release} already has a different ${pkg.fileName}`, { reason: "BASE_PACKAGE_CONFLICT" });
          }
          out.push({ pkg: existing, added: false });
          continue;
        }
        await this.o.blobs.put(items[i].file, pkg.sha256);
        known.set(pkg.fileName, pkg);
        fresh.push(pkg);
        out.push({ pkg, added: true });
      }
      if (fresh.length === 0) return out;
      await this.o.uow.commit(async (w) => {
        for (const pkg of fresh) {
          await w.tx.patches.insertBlob(pkg.sha256, pkg.size);
          if (!(await w.tx.patches.insertBasePackage(release, pkg))) {
            throw failedPrecondition(`Base feed of ${release} already has ${pkg.fileName}`, { reason: "BASE_PACKAGE_CONFLICT" });
          }
          const how = pkg.provenance?.signer ? `signed by ${pkg.provenance.signer}` : "unsigned";
          await w.event({ kind: "base.package-imported", message: `${release}/${pkg.fileName} (${how}, imported by ${pkg.provenance?.importedBy ?? "?"})` });
        }
        // What hosts need may change: new states (and their events) once for the whole batch.
        const base = new Map(this.c.base);
        base.set(release, [...this.c.basePackages(release), ...fresh]);
        const snapshot = await this.c.statesAfterBaseChange(w, base);
        w.afterCommit(() => this.c.adopt({ base, snapshot }));
      });
      this.c.hosts.requestReports();
      return out;
    });
  }

  /** NOT_FOUND for a release that was never created: importing never creates one (InitRelease is admin). */
  private requireRelease(release: string): void {
    if (!this.c.releases.has(release)) {
      throw notFound(`Release ${release} is not known; an admin creates it with InitRelease (sw-patch init-release ${release})`, { reason: "RELEASE_NOT_FOUND" });
    }
  }
}
