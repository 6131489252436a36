/**
 * The agent's rpm backend: drives the real `rpm` tool against a host root with `--root DIR`.
 *
 * The database lives inside the root at rpm's usual place for the root user. Debian's rpm sets
 * `%_dbpath` to `~/.rpmdb`, so we pin `HOME=/root` in rpm's environment: the database is then
 * always `<root>/root/.rpmdb` whatever the agent's own HOME is (no `--dbpath`). On an rpm-based
 * distribution the same invocation uses `<root>/var/lib/rpm`.
 *
 * Scriptlets run chrooted into the root with the root's own `/bin/sh` (rpm does the chroot; we run
 * as root). Flags used for changes (verified with Debian rpm 4.18 on a plain-directory root):
 *   upgrade/downgrade/install: `rpm -U -v --oldpackage --nodeps --ignorearch --noplugins --root DIR FILES...`
 *   erase:                     `rpm -e --nodeps --allmatches --noplugins --root DIR NAMES...`
 * `--nodeps`: the controller computes the desired set; test roots carry no full dependency closure.
 * rpm still orders the transaction by the packages' requirements (e.g. /bin/sh first).
 * `--noplugins`: no systemd-inhibit/dbus/selinux plugins against a root that is a plain directory.
 */
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { DomainError } from "../domain/errors.js";
import { UnsafeRootPathError, realRoot, resolveInRoot } from "./root-fs.js";

/** An installed package as `rpm -qa` reports it. `epoch` is rpm's EPOCHNUM ("0" when none). */
export interface RpmPackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
}

/** Thrown when an rpm command fails; `message` carries rpm's own error text. */
export class RpmError extends DomainError {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(message: string, exitCode: number | null, stderr: string) {
    super("internal", message, { reason: "RPM_FAILED" });
    this.name = "RpmError";
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface RpmRunOptions {
  signal?: AbortSignal;
  /** Called with each line rpm prints on stdout (with `-v`, one line per package installed/removed). */
  onLine?: (line: string) => void;
}

const QUERY_FORMAT = "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n";
/** Flags of the install/upgrade/downgrade transaction, after `-U`. */
export const RPM_UPGRADE_FLAGS = ["-v", "--oldpackage", "--nodeps", "--ignorearch", "--noplugins"] as const;
/** Flags of the erase transaction, after `-e`. */
export const RPM_ERASE_FLAGS = ["--nodeps", "--allmatches", "--noplugins"] as const;

// Debian's rpm prints this on every install; it is never a failure reason.
const NOISE = [/^rpm: RPM should not be used directly/, /^rpm: However assuming you know what you are doing/];

function rpmEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C", LC_ALL: "C" };
}

/** The rpm database directory inside `root` (where `rpm --root root` keeps it on this machine). */
export function rpmDbDir(root: string): string {
  return path.join(root, "root", ".rpmdb");
}

/**
 * Refuses to run rpm on `root` when its database path there goes through a symlink: rpm opens the
 * database before it enters the root, so a package shipping `/root/.rpmdb` (or `/root`) as a
 * symlink would make rpm, running as root, write its database outside the root.
 * @throws UnsafeRootPathError
 */
export async function checkRpmDbPath(root: string): Promise<void> {
  const lexical = path.join(await realRoot(root), "root", ".rpmdb");
  const resolved = await resolveInRoot(root, path.join("root", ".rpmdb"), { followLast: true });
  if (resolved !== lexical) {
    throw new UnsafeRootPathError(`Refusing to run rpm: its database path ${rpmDbDir(root)} goes through a symlink`, rpmDbDir(root));
  }
}

/** rpm's stderr without Debian's "use Alien" banner, trimmed to the last `maxLines` lines. */
export function cleanRpmStderr(stderr: string, maxLines = 20): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "" && !NOISE.some((re) => re.test(l)));
  return lines.slice(-maxLines).join("\n");
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How long an rpm command waits for another rpm's transaction lock (e.g. one left by an agent that died). */
const LOCK_WAIT_MS = 120_000;

/**
 * Runs rpm; when another rpm process holds the database lock (an rpm orphaned by an agent that
 * was killed mid-transaction keeps it until it ends), waits and tries again.
 */
async function runRpm(args: string[], opts: RpmRunOptions = {}): Promise<RunResult> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    const r = await runRpmOnce(args, opts);
    if (r.code === 0 || !/can't create transaction lock/.test(r.stderr) || Date.now() > deadline) return r;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, delay);
      opts.signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          reject(opts.signal!.reason ?? new Error("aborted"));
        },
        { once: true },
      );
    });
  }
}

function runRpmOnce(args: string[], opts: RpmRunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason ?? new Error("aborted"));
      return;
    }
    const child = spawn("rpm", args, { env: rpmEnv(), stdio: ["ignore", "pipe", "pipe"], signal: opts.signal });
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      stdout += d;
      if (!opts.onLine) return;
      partial += d;
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        opts.onLine(line);
      }
    });
    child.stderr.on("data", (d: string) => {
      if (stderr.length < 1024 * 1024) stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (partial && opts.onLine) opts.onLine(partial);
      resolve({ code, stdout, stderr });
    });
  });
}

function failure(what: string, r: RunResult): RpmError {
  const text = cleanRpmStderr(r.stderr);
  return new RpmError(text ? `${what}: ${text}` : `${what}: rpm exited with status ${r.code}`, r.code, r.stderr);
}

/** Create an empty rpm database in `root` (the directory is created if missing). Idempotent. */
export async function rpmInitDb(root: string, opts: RpmRunOptions = {}): Promise<void> {
  await fsp.mkdir(root, { recursive: true });
  await checkRpmDbPath(root);
  const r = await runRpm(["--root", root, "--initdb"], opts);
  if (r.code !== 0) throw failure("rpm --initdb failed", r);
}

/** Parse `rpm -qa` output in QUERY_FORMAT. */
export function parseRpmQueryOutput(stdout: string): RpmPackage[] {
  const out: RpmPackage[] = [];
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    const [name, epoch, version, release, arch] = line.split("\t");
    if (!name || version === undefined || release === undefined) continue;
    out.push({ name, epoch: epoch ?? "0", version, release, arch: arch ?? "" });
  }
  return out;
}

/** Every package installed in `root`, sorted by name then version. An uninitialized root reads as empty. */
export async function rpmQueryAll(root: string, opts: RpmRunOptions = {}): Promise<RpmPackage[]> {
  await checkRpmDbPath(root);
  const r = await runRpm(["-qa", "--root", root, "--qf", QUERY_FORMAT], opts);
  if (r.code !== 0) throw failure("rpm -qa failed", r);
  return parseRpmQueryOutput(r.stdout).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

/** The installed versions of one package name (empty when not installed). */
export async function rpmQuery(root: string, name: string, opts: RpmRunOptions = {}): Promise<RpmPackage[]> {
  await checkRpmDbPath(root);
  const r = await runRpm(["-q", "--root", root, "--qf", QUERY_FORMAT, "--", name], opts);
  if (r.code !== 0) return [];
  return parseRpmQueryOutput(r.stdout);
}

/**
 * One `rpm -U` transaction: installs, upgrades and downgrades `files` (paths of .rpm files).
 * rpm is not atomic across packages: when one package's scriptlet fails, others may already be in.
 * @throws RpmError with rpm's stderr text (e.g. "error: %prein(pkg-1-1.noarch) scriptlet failed, exit status 3").
 */
export async function rpmUpgrade(root: string, files: string[], opts: RpmRunOptions = {}): Promise<void> {
  if (files.length === 0) return;
  await checkRpmDbPath(root);
  const r = await runRpm(["-U", ...RPM_UPGRADE_FLAGS, "--root", root, "--", ...files], opts);
  if (r.code !== 0) throw failure("rpm install failed", r);
}

/**
 * One `rpm -e` transaction erasing `names` (every installed version of each).
 * @throws RpmError with rpm's stderr text.
 */
export async function rpmErase(root: string, names: string[], opts: RpmRunOptions = {}): Promise<void> {
  if (names.length === 0) return;
  await checkRpmDbPath(root);
  const r = await runRpm(["-e", ...RPM_ERASE_FLAGS, "--root", root, "--", ...names], opts);
  if (r.code !== 0) throw failure("rpm erase failed", r);
}

/**
 * Converge in as few transactions as rpm allows: `rpm -U` for every file (one transaction), then
 * `rpm -e` for the erasures (the rpm CLI cannot mix both in one transaction). Erasing after the
 * upgrade keeps anything the new packages need from the old ones until they are in.
 */
export async function rpmApply(root: string, change: { install: string[]; erase: string[] }, opts: RpmRunOptions = {}): Promise<void> {
  await rpmUpgrade(root, change.install, opts);
  await rpmErase(root, change.erase, opts);
}

/** `"[E:]V-R"` for display and reports (epoch omitted when 0). */
export function formatEvr(p: { epoch?: string; version: string; release: string }): string {
  const e = p.epoch && p.epoch !== "0" ? `${p.epoch}:` : "";
  return `${e}${p.version}-${p.release}`;
}

/**
 * Installs every *.rpm of `dir` into `root` in one transaction when the root's rpm database is empty (made when
 * missing). @returns the number of packages installed (0 when the root already had packages).
 */
export async function rpmProvisionFromDir(root: string, dir: string): Promise<number> {
  await rpmInitDb(root);
  if ((await rpmQueryAll(root)).length > 0) return 0;
  const files = (await fsp.readdir(dir))
    .filter((f) => f.endsWith(".rpm"))
    .sort()
    .map((f) => path.join(dir, f));
  await rpmUpgrade(root, files);
  return files.length;
}
