import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

function sql(dataDir: string, query: string): string[][] {
  const out = execFileSync("sqlite3", ["-separator", "\t", path.join(dataDir, "sw-patch.sqlite"), query], { encoding: "utf8" });
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"));
}

/**
 * Checks a stopped controller's data dir: sqlite integrity and foreign keys, every blob row has
 * its file with the right sha256, no file without a row, every patch has all its packages, every
 * state is valid, no temp files (with `allowTmp`, for a controller that was just killed, temp files
 * and whole blob files no row points at yet — both removed at start-up — are tolerated). Returns the list of problems (empty = consistent).
 */
export function checkStore(dataDir: string, opts: { allowTmp?: boolean } = {}): string[] {
  const problems: string[] = [];
  const integrity = sql(dataDir, "PRAGMA integrity_check");
  if (integrity[0]?.[0] !== "ok") problems.push(`integrity_check: ${JSON.stringify(integrity)}`);
  const fk = sql(dataDir, "PRAGMA foreign_key_check");
  if (fk.length) problems.push(`foreign_key_check: ${JSON.stringify(fk)}`);
  const blobRows = new Map(sql(dataDir, "SELECT sha256, size FROM blobs").map(([s, z]) => [s!, Number(z)]));
  const blobDir = path.join(dataDir, "blobs", "sha256");
  const files = new Set<string>();
  if (existsSync(blobDir)) {
    for (const d of readdirSync(blobDir)) for (const f of readdirSync(path.join(blobDir, d))) files.add(f);
  }
  for (const [sha, size] of blobRows) {
    if (!files.has(sha)) {
      problems.push(`blob row without file: ${sha}`);
      continue;
    }
    const buf = readFileSync(path.join(blobDir, sha.slice(0, 2), sha));
    if (buf.length !== size) problems.push(`blob ${sha}: size ${buf.length} != ${size}`);
    if (createHash("sha256").update(buf).digest("hex") !== sha) problems.push(`blob ${sha}: content does not match its name`);
  }
  for (const f of files) {
    // A write-to-temp file of a blob that was being stored when the process died: start-up
    // removes it (checked strictly after a restart; tolerated in a check of a dead controller).
    if (opts.allowTmp && f.startsWith(".tmp-")) continue;
    if (blobRows.has(f)) continue;
    if (opts.allowTmp) {
      // Files land before the rows that point at them: a kill between the two leaves a complete
      // file nothing refers to (invisible; start-up removes it). It must still be whole.
      const buf = readFileSync(path.join(blobDir, f.slice(0, 2), f));
      if (createHash("sha256").update(buf).digest("hex") !== f) problems.push(`unreferenced blob ${f}: content does not match its name`);
      continue;
    }
    problems.push(`file without blob row: ${f}`);
  }
  for (const [id, state, meta] of sql(dataDir, "SELECT id, repo_state, metadata_json FROM patches")) {
    if (!["Available", "Applied", "Committed"].includes(state!)) problems.push(`patch ${id}: bad repo_state ${state}`);
    const contents = (JSON.parse(meta!) as { contents: string[] }).contents;
    const pk = sql(dataDir, `SELECT file_name FROM patch_packages WHERE patch_id = '${id}'`).map((r) => r[0]!);
    if (state !== "Committed" && pk.length !== contents.length) problems.push(`patch ${id}: ${pk.length} packages stored, ${contents.length} listed`);
    for (const f of pk) if (!contents.includes(f)) problems.push(`patch ${id}: stored package ${f} not in its contents`);
  }
  const tmp = path.join(dataDir, "tmp");
  if (!opts.allowTmp && existsSync(tmp) && readdirSync(tmp).length) problems.push(`temp files left: ${readdirSync(tmp).join(", ")}`);
  return problems;
}
