/**
 * Host install: converge a host root onto the controller's desired package set (reference spec 6.5
 * `handle_install`), with the reference's flag files, in-service restart scripts and progress.
 *
 * INVARIANTS
 * - At most one install runs per host root at a time (module-wide exclusive runner keyed by the
 *   resolved root path); a second `converge` on the same root is refused with InstallInProgressError
 *   before it touches anything.
 * - `<root>/var/run/patch_installing` exists exactly while an install runs (it holds the operation
 *   id); if the agent finds it at start, the install was interrupted (`recoverInterruptedInstall`).
 * - Every converge that started ends with exactly one terminal progress message (DONE or FAILED).
 * - Every file and directory the installer touches under the root goes through root-fs.ts: it is
 *   never reached through a symlink that leads out of the root (docs/agent.md).
 */
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import type { DesiredPackage } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { InstallPhase, type InstallProgress } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import { rpmVersionCompare } from "../domain/rpm/version-compare.js";
import { DomainError } from "../domain/errors.js";
import { hostPaths } from "./host-paths.js";
import { existsInRoot, listExecutablesInRoot, mkdirInRoot, openLogInRoot, UnsafeRootPathError, readFileInRoot, rmInRoot, writeFileInRootAtomic } from "./root-fs.js";
import { RpmError, rpmErase, rpmQueryAll, rpmUpgrade, type RpmPackage } from "./rpm.js";

export type ChangeKind = "install" | "upgrade" | "downgrade" | "erase";

/** One package change of an install plan. */
export interface PlannedChange {
  kind: ChangeKind;
  name: string;
  /** The installed package being replaced or erased. */
  from?: RpmPackage;
  /** The desired package (absent for erase). */
  to?: DesiredPackage;
}

/** What `fetch` gets besides the package. */
export interface FetchContext {
  /**
   * Where the installer suggests the file be written: in a fresh directory the agent created
   * inside the root (its real path). Open it without following symlinks (O_NOFOLLOW).
   */
  destPath: string;
  /** Report bytes received so far for this package (cumulative). */
  onBytes: (bytesDone: number) => void;
  signal: AbortSignal;
}

/** Fetches one package and resolves to the local path of its .rpm file (checked by sha256 afterwards). */
export type FetchPackageFn = (pkg: DesiredPackage, ctx: FetchContext) => Promise<string>;

export interface ConvergeOptions {
  /** The full desired set for the host. Installed packages not listed and not in `erase` are left alone. */
  desired: DesiredPackage[];
  /** Names to erase if installed. */
  erase?: string[];
  fetch: FetchPackageFn;
  /** Receives every progress message, ending with one terminal DONE or FAILED. */
  onProgress?: (p: InstallProgress) => void;
  signal?: AbortSignal;
  /** Copied into progress messages and into the patch_installing flag. Default: a random uuid. */
  operationId?: string;
  /** Copied into progress messages. */
  hostname?: string;
  /** The controller says a change comes from a reboot-required patch: create node_is_patched_rr. */
  rebootRequired?: boolean;
  /** Minimum time between two byte-progress messages of one download, ms. Default 100. */
  progressIntervalMs?: number;
  /** Hears what the agent found and repaired in the root (e.g. a symlink in place of its log). */
  onWarning?: (message: string) => void;
}

export interface ConvergeResult {
  /** Whether any package changed. */
  changed: boolean;
  /** node_is_patched_rr is set: the host must reboot for the install to take effect. */
  requiresReboot: boolean;
  /** Set when the install failed; the reference's state becomes install-failed. */
  failedReason?: string;
  changes: PlannedChange[];
  /** Restart scripts that ran (base names), in order. */
  scriptsRun: string[];
}

/** Thrown by `converge` when an install already runs on the same root. */
export class InstallInProgressError extends DomainError {
  constructor(root: string) {
    super("failed-precondition", "Install already in progress", { reason: "INSTALL_IN_PROGRESS" });
    this.name = "InstallInProgressError";
    void root;
  }
}

const activeRoots = new Set<string>();

/** Whether an install currently runs on `root` in this process. */
export function isInstalling(root: string): boolean {
  return activeRoots.has(path.resolve(root));
}

function evrOf(p: { epoch?: string; version: string; release: string }) {
  return { epoch: p.epoch || "0", version: p.version, release: p.release };
}

/**
 * The changes that take `installed` to `desired`: new names are installed; a different version is
 * an upgrade or a downgrade (rpm labelCompare order); names in `erase` that are installed (and not
 * desired) are erased. Sorted by name within kind order install/upgrade/downgrade/erase.
 */
export function planChanges(installed: RpmPackage[], desired: DesiredPackage[], erase: string[] = []): PlannedChange[] {
  const byName = new Map<string, RpmPackage[]>();
  for (const p of installed) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const out: PlannedChange[] = [];
  const desiredNames = new Set<string>();
  for (const d of desired) {
    desiredNames.add(d.name);
    const have = byName.get(d.name) ?? [];
    if (have.length === 0) {
      out.push({ kind: "install", name: d.name, to: d });
      continue;
    }
    const same = have.find((h) => rpmVersionCompare(evrOf(h), evrOf(d)) === 0);
    if (same && have.length === 1) continue;
    const newest = have.reduce((a, b) => (rpmVersionCompare(evrOf(a), evrOf(b)) >= 0 ? a : b));
    const cmp = rpmVersionCompare(evrOf(newest), evrOf(d));
    out.push({ kind: cmp > 0 ? "downgrade" : "upgrade", name: d.name, from: newest, to: d });
  }
  for (const name of new Set(erase)) {
    if (desiredNames.has(name)) continue;
    for (const h of (byName.get(name) ?? []).slice(0, 1)) out.push({ kind: "erase", name, from: h });
  }
  const order: Record<ChangeKind, number> = { install: 0, upgrade: 1, downgrade: 2, erase: 3 };
  return out.sort((a, b) => order[a.kind] - order[b.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Names with more than one installed version of the same arch (the reference's duplicated_pkgs). */
export function findDuplicates(installed: RpmPackage[]): string[] {
  const seen = new Map<string, number>();
  for (const p of installed) seen.set(`${p.name}.${p.arch}`, (seen.get(`${p.name}.${p.arch}`) ?? 0) + 1);
  return [...seen]
    .filter(([, n]) => n > 1)
    .map(([k]) => k)
    .sort();
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file, { signal })) h.update(chunk as Buffer);
  return h.digest("hex");
}

function safeFileName(pkg: DesiredPackage): string {
  const base = path.basename(pkg.fileName || `${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}.rpm`);
  return base.replace(/[^A-Za-z0-9._+~^:-]/g, "_") || "package.rpm";
}

/**
 * Run every executable file in `<root>/run/patching/patch-scripts` in sorted order with
 * `chroot ROOT /bin/sh -x SCRIPT` (the root's own shell; needs root privileges), appending their
 * output to `<root>/var/log/patching-insvc.log`. A script that is not executable is skipped, as
 * run-patch-scripts does. The scripts dir and the log are reached inside the root only
 * (root-fs.ts); a symlink in place of the log is replaced by a regular file (`onWarning` hears it).
 * @returns the scripts that ran and the ones that failed (non-zero exit), by base name.
 */
export async function runPatchScripts(
  root: string,
  opts: { signal?: AbortSignal; onScript?: (name: string, index: number, total: number) => void; onWarning?: (message: string) => void } = {},
): Promise<{ ran: string[]; failed: string[] }> {
  const paths = hostPaths(root);
  const scripts = await listExecutablesInRoot(root, paths.patchScripts);
  if (scripts.length === 0) return { ran: [], failed: [] };
  await mkdirInRoot(root, path.dirname(paths.insvcLog));
  const ran: string[] = [];
  const failed: string[] = [];
  const inRoot = "/" + path.relative(paths.root, paths.patchScripts).split(path.sep).join("/");
  const onReplaced = (what: string) =>
    opts.onWarning?.(`${paths.insvcLog} was ${what}; replaced it with a regular file (the agent does not follow symlinks out of its root)`);
  for (const [i, name] of scripts.entries()) {
    opts.onScript?.(name, i + 1, scripts.length);
    const log = await openLogInRoot(root, paths.insvcLog, onReplaced);
    try {
      await log.write(`${new Date().toISOString()} Running ${name}\n`);
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn("chroot", [paths.root, "/bin/sh", "-x", `${inRoot}/${name}`], {
          stdio: ["ignore", log.fd, log.fd],
          env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C" },
          cwd: "/",
          signal: opts.signal,
        });
        child.on("error", reject);
        child.on("close", (c) => resolve(c));
      });
      await log.write(`${new Date().toISOString()} ${name} exited with ${code}\n`);
      ran.push(name);
      if (code !== 0) failed.push(name);
    } finally {
      await log.close();
    }
  }
  return { ran, failed };
}

/**
 * If `<root>/var/run/patch_installing` exists (the agent stopped during an install), turn it into
 * a failed install: write patch_install_failed with the reason "agent restarted during install"
 * and remove patch_installing.
 * @returns the interrupted operation id ("" if unknown), or null when nothing was interrupted.
 */
export async function recoverInterruptedInstall(root: string): Promise<{ operationId: string; reason: string } | null> {
  const paths = hostPaths(root);
  let content: string;
  try {
    content = await readFileInRoot(root, paths.patchInstalling);
  } catch (e) {
    // A symlink in place of the flag: an install was interrupted, but its content is not read.
    if (e instanceof UnsafeRootPathError) content = "";
    else return null;
  }
  const reason = "agent restarted during install";
  await writeFileInRootAtomic(root, paths.patchInstallFailed, reason + "\n");
  await rmInRoot(root, paths.patchInstalling);
  return { operationId: content.trim(), reason };
}

/**
 * Install: converge `root` onto `opts.desired` (see module doc). Never throws for an install
 * failure: that is `failedReason` (and a terminal FAILED progress message).
 * @throws InstallInProgressError when an install already runs on `root` (nothing was touched).
 */
export async function converge(root: string, opts: ConvergeOptions): Promise<ConvergeResult> {
  const key = path.resolve(root);
  if (activeRoots.has(key)) throw new InstallInProgressError(key);
  activeRoots.add(key);
  try {
    return await convergeLocked(key, opts);
  } finally {
    activeRoots.delete(key);
  }
}

async function convergeLocked(root: string, opts: ConvergeOptions): Promise<ConvergeResult> {
  const paths = hostPaths(root);
  const operationId = opts.operationId || randomUUID();
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) controller.abort(opts.signal.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const signal = controller.signal;
  const intervalMs = opts.progressIntervalMs ?? 100;
  const emit = (p: Partial<InstallProgress> & { phase: InstallPhase }) =>
    opts.onProgress?.({
      operationId,
      hostname: opts.hostname ?? "",
      current: 0,
      total: 0,
      bytesDone: 0,
      bytesTotal: 0,
      item: "",
      message: "",
      terminal: false,
      time: new Date(),
      ...p,
    });

  const result: ConvergeResult = { changed: false, requiresReboot: false, changes: [], scriptsRun: [] };
  const downloadDir = path.join(paths.downloads, operationId.replace(/[^A-Za-z0-9_.-]/g, "_"));

  // 1-2: flag and fresh scripts/flags dirs.
  await writeFileInRootAtomic(root, paths.patchInstalling, operationId + "\n");
  for (const d of [paths.patchScripts, paths.patchFlags]) {
    await rmInRoot(root, d, { recursive: true });
    await mkdirInRoot(root, d, 0o700);
  }
  try {
    emit({ phase: InstallPhase.INSTALL_PHASE_QUEUED, message: "install started" });
    // 4: query.
    const installed = await rpmQueryAll(root, { signal });
    const dups = findDuplicates(installed);
    if (dups.length > 0) throw new InstallFailure(`Duplicated packages installed (${dups.join(", ")}). Manual recovery is required.`);
    const changes = planChanges(installed, opts.desired, opts.erase ?? []);
    result.changes = changes;
    const toInstall = changes.filter((c) => c.to !== undefined) as (PlannedChange & { to: DesiredPackage })[];
    const toErase = changes.filter((c) => c.kind === "erase").map((c) => c.name);

    // Download and verify.
    const files: string[] = [];
    const nevraToFile = new Map<string, string>();
    // A fresh directory made by the agent: nothing planted in it before can be written through.
    let realDownloadDir = downloadDir;
    if (toInstall.length > 0) {
      await rmInRoot(root, downloadDir, { recursive: true });
      realDownloadDir = await mkdirInRoot(root, downloadDir, 0o700);
    }
    for (const [i, c] of toInstall.entries()) {
      const pkg = c.to;
      const item = safeFileName(pkg);
      const bytesTotal = Number(pkg.sizeBytes) || 0;
      const base = { phase: InstallPhase.INSTALL_PHASE_DOWNLOADING, current: i + 1, total: toInstall.length, item, bytesTotal };
      emit({ ...base, message: "downloading" });
      let last = 0;
      let done = 0;
      const file = await opts.fetch(pkg, {
        destPath: path.join(realDownloadDir, item),
        signal,
        onBytes: (n) => {
          done = n;
          const now = Date.now();
          if (now - last >= intervalMs) {
            last = now;
            emit({ ...base, bytesDone: n, message: "downloading" });
          }
        },
      });
      if (!pkg.sha256) throw new InstallFailure(`No sha256 given for ${item}`);
      const digest = await sha256File(file, signal);
      if (digest !== pkg.sha256.toLowerCase()) {
        throw new InstallFailure(`sha256 mismatch for ${item}: expected ${pkg.sha256}, got ${digest}`);
      }
      const size = (await fsp.stat(file)).size;
      if (bytesTotal > 0 && size !== bytesTotal) throw new InstallFailure(`Size mismatch for ${item}: expected ${bytesTotal}, got ${size}`);
      emit({ ...base, bytesDone: size || done, bytesTotal: bytesTotal || size, message: "downloaded" });
      files.push(file);
      nevraToFile.set(`${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}`, item);
    }

    // 5: one rpm transaction for installs, then the erasures.
    const total = toInstall.length + toErase.length;
    if (total > 0) {
      let current = 0;
      emit({ phase: InstallPhase.INSTALL_PHASE_INSTALLING, current, total, message: "running rpm transaction" });
      await rpmUpgrade(root, files, {
        signal,
        onLine: (line) => {
          const item = nevraToFile.get(line.trim());
          if (item === undefined) return;
          current++;
          emit({ phase: InstallPhase.INSTALL_PHASE_INSTALLING, current, total, item, message: "installed" });
        },
      });
      current = toInstall.length;
      if (toErase.length > 0) {
        await rpmErase(root, toErase, { signal });
        for (const name of toErase) emit({ phase: InstallPhase.INSTALL_PHASE_INSTALLING, current: ++current, total, item: name, message: "erased" });
      }
      result.changed = true;
    }

    // 6: flags and in-service scripts.
    if (result.changed) {
      await writeFileInRootAtomic(root, paths.nodeIsPatched, "");
      if (opts.rebootRequired && !(await existsInRoot(root, paths.nodeIsPatchedRr))) await writeFileInRootAtomic(root, paths.nodeIsPatchedRr, "");
      if (!(await existsInRoot(root, paths.nodeIsPatchedRr))) {
        const { ran, failed } = await runPatchScripts(root, {
          signal,
          ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
          onScript: (name, i, n) => emit({ phase: InstallPhase.INSTALL_PHASE_RUNNING_SCRIPTS, current: i, total: n, item: name, message: "running" }),
        });
        result.scriptsRun = ran;
        if (failed.length > 0) throw new InstallFailure(`${failed.length} patch script(s) failed: ${failed.join(", ")}`);
        await rmInRoot(root, paths.nodeIsPatched);
      }
    }
  } catch (e) {
    result.failedReason = failureReason(e, signal);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    // 7: scripts/flags dirs and downloads go away.
    for (const d of [paths.patchScripts, paths.patchFlags, downloadDir]) await rmInRoot(root, d, { recursive: true }).catch(() => {});
  }
  // 8-9.
  result.requiresReboot = await existsInRoot(root, paths.nodeIsPatchedRr);
  if (result.failedReason === undefined) {
    await rmInRoot(root, paths.patchInstallFailed);
  } else {
    await writeFileInRootAtomic(root, paths.patchInstallFailed, result.failedReason + "\n");
  }
  await rmInRoot(root, paths.patchInstalling);
  if (result.failedReason === undefined) {
    emit({
      phase: InstallPhase.INSTALL_PHASE_DONE,
      terminal: true,
      message: result.changed ? (result.requiresReboot ? "installed; reboot required" : "installed") : "no changes",
    });
  } else {
    emit({ phase: InstallPhase.INSTALL_PHASE_FAILED, terminal: true, message: result.failedReason });
  }
  return result;
}

class InstallFailure extends Error {}

function failureReason(e: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "install aborted";
  if (e instanceof InstallFailure || e instanceof RpmError) return e.message;
  if (e instanceof Error) return `install failed: ${e.message}`;
  return `install failed: ${String(e)}`;
}
