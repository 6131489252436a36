import type { Reader, Tx } from "./db.js";
import type { PackageRecord, PatchMeta, PatchRecord, RepoState } from "../../domain/patches/model.js";

interface PatchRow {
  id: string;
  sw_version: string;
  repo_state: RepoState;
  metadata_json: string;
  metadata_xml: string;
  signer: string;
  file_sha256: string;
  uploaded_at: string;
}
interface PackageRow {
  patch_id?: string;
  release?: string;
  file_name: string;
  name: string;
  epoch: string;
  version: string;
  rel: string;
  arch: string;
  sha256: string;
  size: number;
}

const pkgFromRow = (r: PackageRow): PackageRecord => ({
  fileName: r.file_name,
  name: r.name,
  epoch: r.epoch,
  version: r.version,
  release: r.rel,
  arch: r.arch,
  sha256: r.sha256,
  size: r.size,
});

/** Loads every patch with its packages and semantics (start-up). */
export async function loadPatches(tx: Reader): Promise<PatchRecord[]> {
  const rows = await tx.all<PatchRow>("SELECT * FROM patches ORDER BY id");
  const pkgs = await tx.all<PackageRow>("SELECT * FROM patch_packages WHERE reclaimed = 0 ORDER BY patch_id, file_name");
  const sems = await tx.all<{ patch_id: string; action: string; sha256: string }>("SELECT * FROM patch_semantics ORDER BY patch_id, action");
  const byId = new Map<string, PatchRecord>();
  for (const r of rows) {
    byId.set(r.id, {
      meta: JSON.parse(r.metadata_json) as PatchMeta,
      repoState: r.repo_state,
      patchState: "n/a",
      metadataXml: r.metadata_xml,
      signer: r.signer,
      fileSha256: r.file_sha256,
      uploadedAt: new Date(r.uploaded_at),
      packages: [],
      semantics: [],
    });
  }
  for (const p of pkgs) byId.get(p.patch_id!)?.packages.push(pkgFromRow(p));
  for (const s of sems) byId.get(s.patch_id)?.semantics.push({ action: s.action, sha256: s.sha256 });
  return [...byId.values()];
}

export async function insertBlob(tx: Tx, sha256: string, size: number): Promise<void> {
  await tx.run("INSERT OR IGNORE INTO blobs (sha256, size, created_at) VALUES (?,?,?)", [sha256, size, new Date().toISOString()]);
}

/** Blobs no row refers to any more (their files may be removed after the commit). */
export async function orphanBlobs(tx: Reader): Promise<string[]> {
  const rows = await tx.all<{ sha256: string }>(
    `SELECT sha256 FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM patch_packages WHERE reclaimed = 0)
       AND sha256 NOT IN (SELECT sha256 FROM base_packages)
       AND sha256 NOT IN (SELECT sha256 FROM patch_semantics)
       AND sha256 NOT IN (SELECT file_sha256 FROM patches)`,
  );
  return rows.map((r) => r.sha256);
}

export async function deleteBlobRows(tx: Tx, shas: readonly string[]): Promise<void> {
  for (const s of shas) await tx.run("DELETE FROM blobs WHERE sha256 = ?", [s]);
}

export async function knownBlobs(tx: Reader): Promise<Set<string>> {
  return new Set((await tx.all<{ sha256: string }>("SELECT sha256 FROM blobs")).map((r) => r.sha256));
}

export async function insertPatch(tx: Tx, p: PatchRecord): Promise<void> {
  const now = new Date().toISOString();
  await tx.run("INSERT INTO patches (id, sw_version, repo_state, metadata_json, metadata_xml, signer, file_sha256, uploaded_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)", [
    p.meta.id,
    p.meta.swVersion,
    p.repoState,
    JSON.stringify(p.meta),
    p.metadataXml,
    p.signer,
    p.fileSha256,
    p.uploadedAt.toISOString(),
    now,
  ]);
  for (const k of p.packages) {
    await tx.run("INSERT INTO patch_packages (patch_id, file_name, name, epoch, version, rel, arch, sha256, size) VALUES (?,?,?,?,?,?,?,?,?)", [
      p.meta.id,
      k.fileName,
      k.name,
      k.epoch,
      k.version,
      k.release,
      k.arch,
      k.sha256,
      k.size,
    ]);
  }
  for (const s of p.semantics) {
    await tx.run("INSERT INTO patch_semantics (patch_id, action, sha256) VALUES (?,?,?)", [p.meta.id, s.action, s.sha256]);
  }
}

export async function updatePatchMetadata(tx: Tx, id: string, meta: PatchMeta, xml: string, signer: string): Promise<void> {
  await tx.run("UPDATE patches SET metadata_json = ?, metadata_xml = ?, signer = ?, updated_at = ? WHERE id = ?", [
    JSON.stringify(meta),
    xml,
    signer,
    new Date().toISOString(),
    id,
  ]);
}

export async function setRepoState(tx: Tx, id: string, state: RepoState): Promise<void> {
  await tx.run("UPDATE patches SET repo_state = ?, updated_at = ? WHERE id = ?", [state, new Date().toISOString(), id]);
}

export async function deletePatch(tx: Tx, id: string): Promise<void> {
  await tx.run("DELETE FROM patches WHERE id = ?", [id]);
}

/** Commit drops a superseded RPM: its row goes (metadata still lists it in contents). */
export async function markReclaimed(tx: Tx, patchId: string, fileName: string): Promise<void> {
  await tx.run("DELETE FROM patch_packages WHERE patch_id = ? AND file_name = ?", [patchId, fileName]);
}

// Releases and base feeds.
export async function loadReleases(tx: Reader): Promise<string[]> {
  return (await tx.all<{ release: string }>("SELECT release FROM releases ORDER BY release")).map((r) => r.release);
}

export async function insertRelease(tx: Tx, release: string): Promise<void> {
  await tx.run("INSERT OR IGNORE INTO releases (release, created_at) VALUES (?,?)", [release, new Date().toISOString()]);
}

export async function deleteRelease(tx: Tx, release: string): Promise<void> {
  await tx.run("DELETE FROM releases WHERE release = ?", [release]);
}

export async function loadBasePackages(tx: Reader): Promise<Map<string, PackageRecord[]>> {
  const out = new Map<string, PackageRecord[]>();
  type BaseRow = PackageRow & { signer: string; imported_by: string; imported_at: string };
  for (const r of await tx.all<BaseRow>("SELECT * FROM base_packages ORDER BY release, file_name")) {
    const list = out.get(r.release!) ?? [];
    const k = pkgFromRow(r);
    // Rows stored before migration 0006 have no provenance.
    if (r.imported_at) k.provenance = { signer: r.signer, importedBy: r.imported_by, importedAt: r.imported_at };
    list.push(k);
    out.set(r.release!, list);
  }
  return out;
}

export async function insertBasePackage(tx: Tx, release: string, k: PackageRecord): Promise<boolean> {
  const p = k.provenance;
  const r = await tx.run(
    "INSERT OR IGNORE INTO base_packages (release, file_name, name, epoch, version, rel, arch, sha256, size, signer, imported_by, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    [release, k.fileName, k.name, k.epoch, k.version, k.release, k.arch, k.sha256, k.size, p?.signer ?? "", p?.importedBy ?? "", p?.importedAt ?? ""],
  );
  return r.changes > 0;
}

// Interim lists: patches waiting for fresh host reports.
export async function loadInterim(tx: Reader): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const r of await tx.all<{ patch_id: string; hostname: string }>("SELECT * FROM interim")) {
    const s = out.get(r.patch_id) ?? new Set<string>();
    s.add(r.hostname);
    out.set(r.patch_id, s);
  }
  return out;
}

export async function setInterim(tx: Tx, patchId: string, hostnames: readonly string[]): Promise<void> {
  tx.write("DELETE FROM interim WHERE patch_id = ?", [patchId]);
  for (const h of hostnames) tx.write("INSERT INTO interim (patch_id, hostname) VALUES (?,?)", [patchId, h]);
}

export async function clearInterimForHost(tx: Tx, hostname: string): Promise<void> {
  tx.write("DELETE FROM interim WHERE hostname = ?", [hostname]);
}

// Application dependencies.
export async function loadAppDependencies(tx: Reader): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const r of await tx.all<{ app: string; patch_id: string }>("SELECT * FROM app_dependencies ORDER BY app, patch_id")) {
    const l = out.get(r.app) ?? [];
    l.push(r.patch_id);
    out.set(r.app, l);
  }
  return out;
}

export async function setAppDependencies(tx: Tx, app: string, ids: readonly string[]): Promise<void> {
  await tx.run("DELETE FROM app_dependencies WHERE app = ?", [app]);
  for (const id of ids) await tx.run("INSERT INTO app_dependencies (app, patch_id) VALUES (?,?)", [app, id]);
}

// Controller key/value state.
export async function getControllerState(tx: Reader, key: string): Promise<string | undefined> {
  return (await tx.get<{ value: string }>("SELECT value FROM controller_state WHERE key = ?", [key]))?.value;
}

export async function setControllerState(tx: Tx, key: string, value: string): Promise<void> {
  tx.write("INSERT INTO controller_state (key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value]);
}
