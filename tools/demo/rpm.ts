/**
 * The demo's minimal RPM builder: real `rpmbuild` (Debian package `rpm`) inside a scratch dir.
 * A trimmed copy of test/lib/rpm-builder.ts (no cache, no scriptlets), so the demo runs from dist/
 * without the test tree.
 */
import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

export type DemoRpmFile = { path: string; content: string } | { path: string; source: string; mode: number } | { path: string; symlink: string };

export interface DemoRpm {
  name: string;
  version: string;
  release: string;
  /** "noarch" or "x86_64". */
  arch: string;
  files: DemoRpmFile[];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 16 << 20, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
}

function quotePath(p: string): string {
  if (!p.startsWith("/") || /["\s%]/.test(p)) throw new Error(`unsupported path in demo rpm: ${p}`);
  return `"${p}"`;
}

/** Builds `<name>-<version>-<release>.<arch>.rpm` into `outDir` (scratch files under `scratch`). */
export async function buildDemoRpm(o: DemoRpm, outDir: string, scratch: string, signal?: AbortSignal): Promise<string> {
  const top = path.join(scratch, `${o.name}-${o.version}-${o.release}`);
  const stage = path.join(top, "stage");
  for (const d of ["BUILD", "RPMS", "SOURCES", "SPECS", "SRPMS", "BUILDROOT", "tmp", "stage"]) await fsp.mkdir(path.join(top, d), { recursive: true });
  const fileLines: string[] = [];
  for (const f of o.files) {
    const dest = path.join(stage, f.path);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    if ("symlink" in f) {
      await fsp.symlink(f.symlink, dest);
      fileLines.push(quotePath(f.path));
    } else if ("content" in f) {
      await fsp.writeFile(dest, f.content);
      fileLines.push(`%attr(0644,root,root) ${quotePath(f.path)}`);
    } else {
      await fsp.copyFile(f.source, dest);
      fileLines.push(`%attr(${f.mode.toString(8).padStart(4, "0")},root,root) ${quotePath(f.path)}`);
    }
  }
  const spec = [
    `Name: ${o.name}`,
    `Version: ${o.version}`,
    `Release: ${o.release}`,
    `Summary: sw-patch demo package ${o.name}`,
    "License: Apache-2.0",
    ...(o.arch === "noarch" ? ["BuildArch: noarch"] : []),
    "AutoReqProv: no",
    "",
    "%description",
    `sw-patch demo package ${o.name}`,
    "",
    "%install",
    "mkdir -p %{buildroot}",
    `cp -a ${stage}/. %{buildroot}/`,
    "",
    "%files",
    ...fileLines,
    "",
  ].join("\n");
  const specPath = path.join(top, "SPECS", `${o.name}.spec`);
  await fsp.writeFile(specPath, spec);
  const defs: [string, string][] = [
    ["_topdir", top],
    ["_tmppath", path.join(top, "tmp")],
    ["_binary_payload", "w9.gzdio"],
    ["_source_payload", "w9.gzdio"],
    ["__os_install_post", "%{nil}"],
    ["__spec_install_post", "%{nil}"],
    ["debug_package", "%{nil}"],
    ["_build_id_links", "none"],
    ["_binaries_in_noarch_packages_terminate_build", "0"],
    ["_buildhost", "localhost"],
  ];
  const args = ["-bb", "--nodeps", "--quiet"];
  if (o.arch !== "noarch") args.push("--target", o.arch);
  for (const [k, v] of defs) args.push("--define", `${k} ${v}`);
  args.push(specPath);
  await run("rpmbuild", args, { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: top, LANG: "C", SOURCE_DATE_EPOCH: "1600000000" }, signal);
  const file = `${o.name}-${o.version}-${o.release}.${o.arch}.rpm`;
  await fsp.mkdir(outDir, { recursive: true });
  const out = path.join(outDir, file);
  await fsp.copyFile(path.join(top, "RPMS", o.arch, file), out);
  await fsp.rm(top, { recursive: true, force: true });
  return out;
}

/** Applets linked to /bin/busybox in the demo's (and the tests') base package, so rpm scriptlets have a /bin/sh. */
export const BUSYBOX_APPLETS = [
  "sh",
  "ash",
  "mkdir",
  "rm",
  "rmdir",
  "touch",
  "cat",
  "ls",
  "mv",
  "cp",
  "chmod",
  "ln",
  "echo",
  "sed",
  "grep",
  "test",
  "[",
  "sleep",
  "true",
  "false",
  "env",
  "printf",
  "head",
  "tail",
  "date",
  "id",
];

/** The demo's base feed: busybox-base plus sysinv and pkg-a at 1.0-1. */
export async function buildDemoBaseFeed(dir: string, scratch: string, signal?: AbortSignal): Promise<string[]> {
  const out = [
    await buildDemoRpm(
      {
        name: "busybox-base",
        version: "1.0",
        release: "1",
        arch: "x86_64",
        files: [
          { path: "/bin/busybox", source: "/bin/busybox", mode: 0o755 },
          ...BUSYBOX_APPLETS.map((a) => ({ path: `/bin/${a}`, symlink: "busybox" })),
          { path: "/usr/share/busybox-base/VERSION", content: "1.0-1\n" },
        ],
      },
      dir,
      scratch,
      signal,
    ),
  ];
  for (const name of ["sysinv", "pkg-a"]) out.push(await buildDemoRpm(payload(name, "1"), dir, scratch, signal));
  return out;
}

/** A noarch payload package with /usr/share/<name>/VERSION = "1.0-<release>". */
export function payload(name: string, release: string): DemoRpm {
  return { name, version: "1.0", release, arch: "noarch", files: [{ path: `/usr/share/${name}/VERSION`, content: `1.0-${release}\n` }] };
}
