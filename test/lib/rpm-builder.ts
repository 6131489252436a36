/**
 * Builds real RPMs at test time with `rpmbuild` (Debian package `rpm`), offline and inside temp dirs
 * only. Builds are cached per process by a hash of the spec, so asking twice costs one copy.
 */
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promises as fsp, rmSync, mkdtempSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** One file of the package: inline content, a host file to copy, or a symlink. */
export type RpmFileSpec =
  { path: string; content: string | Uint8Array; mode?: number } | { path: string; source: string; mode?: number } | { path: string; symlink: string };

export interface BuildRpmOptions {
  name: string;
  version: string;
  release: string;
  /** Default "x86_64". */
  arch?: string;
  epoch?: number;
  summary?: string;
  files?: RpmFileSpec[];
  scripts?: { pre?: string; post?: string; preun?: string; postun?: string };
  requires?: string[];
  provides?: string[];
  /** Directory the finished .rpm is copied into. */
  outDir: string;
  /** Payload compressor, default "w9.gzdio" (readable by every rpm); "w0.gzdio" for big fast builds. */
  payload?: string;
}

let cacheDir: string | undefined;
const inflight = new Map<string, Promise<string>>();

function getCacheDir(): string {
  if (!cacheDir) {
    cacheDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-rpmcache-"));
    const dir = cacheDir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return cacheDir;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
}

function specHash(o: BuildRpmOptions): string {
  const h = createHash("sha256");
  const files = (o.files ?? []).map((f) => {
    if ("content" in f) return { path: f.path, mode: f.mode, content: createHash("sha256").update(f.content).digest("hex") };
    if ("source" in f) {
      const st = statSync(f.source);
      return { path: f.path, mode: f.mode, source: f.source, size: st.size, mtime: st.mtimeMs };
    }
    return f;
  });
  h.update(JSON.stringify({ ...o, outDir: undefined, files }));
  return h.digest("hex").slice(0, 24);
}

function quotePath(p: string): string {
  if (!p.startsWith("/") || /["\s%]/.test(p)) throw new Error(`unsupported path in test rpm: ${p}`);
  return `"${p}"`;
}

async function buildUncached(o: BuildRpmOptions, key: string): Promise<string> {
  const arch = o.arch ?? "x86_64";
  const top = path.join(getCacheDir(), key);
  const stage = path.join(top, "stage");
  for (const d of ["BUILD", "RPMS", "SOURCES", "SPECS", "SRPMS", "BUILDROOT", "tmp", "stage"]) await fsp.mkdir(path.join(top, d), { recursive: true });
  const fileLines: string[] = [];
  for (const f of o.files ?? []) {
    const dest = path.join(stage, f.path);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    if ("symlink" in f) {
      await fsp.symlink(f.symlink, dest);
      fileLines.push(quotePath(f.path));
      continue;
    }
    if ("content" in f) await fsp.writeFile(dest, f.content);
    else await fsp.copyFile(f.source, dest);
    const mode = (f.mode ?? 0o644).toString(8).padStart(4, "0");
    fileLines.push(`%attr(${mode},root,root) ${quotePath(f.path)}`);
  }
  const lines = [
    `Name: ${o.name}`,
    `Version: ${o.version}`,
    `Release: ${o.release}`,
    ...(o.epoch !== undefined ? [`Epoch: ${o.epoch}`] : []),
    `Summary: ${o.summary ?? `Test package ${o.name}`}`,
    "License: Apache-2.0",
    ...(arch === "noarch" ? ["BuildArch: noarch"] : []),
    "AutoReqProv: no",
    ...(o.requires ?? []).map((r) => `Requires: ${r}`),
    ...(o.provides ?? []).map((r) => `Provides: ${r}`),
    "",
    "%description",
    o.summary ?? `Test package ${o.name}`,
    "",
    "%install",
    `mkdir -p %{buildroot}`,
    `cp -a ${stage}/. %{buildroot}/`,
    "",
    "%files",
    ...fileLines,
    "",
  ];
  for (const [k, v] of Object.entries(o.scripts ?? {})) if (v !== undefined) lines.push(`%${k}`, v, "");
  const specPath = path.join(top, "SPECS", `${o.name}.spec`);
  await fsp.writeFile(specPath, lines.join("\n"));
  const defs: [string, string][] = [
    ["_topdir", top],
    ["_tmppath", path.join(top, "tmp")],
    ["_binary_payload", o.payload ?? "w9.gzdio"],
    ["_source_payload", "w9.gzdio"],
    ["__os_install_post", "%{nil}"],
    ["__spec_install_post", "%{nil}"],
    ["debug_package", "%{nil}"],
    ["_build_id_links", "none"],
    ["_binaries_in_noarch_packages_terminate_build", "0"],
    ["_buildhost", "localhost"],
  ];
  const args = ["-bb", "--nodeps", "--quiet"];
  if (arch !== "noarch") args.push("--target", arch);
  for (const [k, v] of defs) args.push("--define", `${k} ${v}`);
  args.push(specPath);
  await run("rpmbuild", args, { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: top, LANG: "C", SOURCE_DATE_EPOCH: "1600000000" });
  const epochPart = "";
  const file = `${o.name}-${epochPart}${o.version}-${o.release}.${arch}.rpm`;
  const built = path.join(top, "RPMS", arch, file);
  await fsp.access(built);
  await fsp.rm(stage, { recursive: true, force: true });
  await fsp.rm(path.join(top, "BUILDROOT"), { recursive: true, force: true });
  return built;
}

/**
 * Build (or reuse from this process's cache) an RPM and copy it into `outDir`.
 * @returns the path of `<name>-<version>-<release>.<arch>.rpm` in `outDir`.
 */
export async function buildRpm(o: BuildRpmOptions): Promise<string> {
  const key = specHash(o);
  let p = inflight.get(key);
  if (!p) {
    p = buildUncached(o, key);
    inflight.set(key, p);
    p.catch(() => inflight.delete(key));
  }
  const built = await p;
  await fsp.mkdir(o.outDir, { recursive: true });
  const out = path.join(o.outDir, path.basename(built));
  await fsp.copyFile(built, out);
  return out;
}
