/**
 * A tiny base feed for tests, built with real `rpmbuild` (via test/lib/rpm-builder.ts) and cached
 * for the test run in a temp dir.
 *
 * - `busybox-base-1.0-1.x86_64`: the host's static /bin/busybox plus applet symlinks (/bin/sh and
 *   the usual tools), so rpm scriptlets and restart scripts run chrooted inside a plain-directory
 *   root. Debian's busybox has no `bash` applet, so there is no /bin/bash: scripts run with /bin/sh.
 * - payload packages `sysinv`, `pkg-a`, `pkg-b` at 1.0-1 (noarch), each with
 *   /usr/share/<name>/VERSION containing "<version>-<release>".
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DesiredPackage } from "../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { buildRpm, type RpmFileSpec } from "./rpm-builder.js";
import { BUSYBOX_APPLETS } from "../../tools/demo/rpm.js";

/** A built package with what the controller would send about it. */
export interface FeedPackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
  /** Absolute path of the .rpm file. */
  file: string;
  fileName: string;
  sha256: string;
  sizeBytes: number;
}

export interface BaseFeed {
  /** Directory holding exactly the base feed's .rpm files. */
  dir: string;
  packages: FeedPackage[];
}

/** Applets linked to /bin/busybox in the base package: the demo's list (one list for both). */
export { BUSYBOX_APPLETS };

/** Payload package names of the base feed. */
export const BASE_PAYLOAD = ["sysinv", "pkg-a", "pkg-b"] as const;

let runDir: string | undefined;
function getRunDir(): string {
  if (!runDir) {
    runDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-feed-"));
    const dir = runDir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return runDir;
}

/** Describe an .rpm file as a FeedPackage (sha256 and size of the file). */
export function describeRpm(file: string, meta: { name: string; version: string; release: string; arch: string; epoch?: string }): FeedPackage {
  const data = readFileSync(file);
  return {
    name: meta.name,
    epoch: meta.epoch ?? "",
    version: meta.version,
    release: meta.release,
    arch: meta.arch,
    file,
    fileName: path.basename(file),
    sha256: createHash("sha256").update(data).digest("hex"),
    sizeBytes: statSync(file).size,
  };
}

/** The DesiredPackage message the controller would send for `p`. */
export function toDesired(p: FeedPackage): DesiredPackage {
  return {
    name: p.name,
    epoch: p.epoch,
    version: p.version,
    release: p.release,
    arch: p.arch,
    fileName: p.fileName,
    sha256: p.sha256,
    sizeBytes: p.sizeBytes,
  };
}

export interface PayloadRpmOptions {
  name: string;
  version: string;
  release?: string;
  /** Default "noarch". */
  arch?: string;
  epoch?: number;
  scripts?: { pre?: string; post?: string; preun?: string; postun?: string };
  /** Extra files besides /usr/share/<name>/VERSION. */
  files?: RpmFileSpec[];
  /** Default: a per-run "extra" directory (not the base feed dir). */
  outDir?: string;
}

/** Build (cached) a payload package with /usr/share/<name>/VERSION = "<version>-<release>". */
export async function buildPayloadRpm(o: PayloadRpmOptions): Promise<FeedPackage> {
  const release = o.release ?? "1";
  const arch = o.arch ?? "noarch";
  const file = await buildRpm({
    name: o.name,
    version: o.version,
    release,
    arch,
    ...(o.epoch !== undefined ? { epoch: o.epoch } : {}),
    files: [{ path: `/usr/share/${o.name}/VERSION`, content: `${o.version}-${release}\n` }, ...(o.files ?? [])],
    ...(o.scripts ? { scripts: o.scripts } : {}),
    outDir: o.outDir ?? path.join(getRunDir(), "extra"),
  });
  return describeRpm(file, { name: o.name, version: o.version, release, arch, ...(o.epoch !== undefined ? { epoch: String(o.epoch) } : {}) });
}

/** Build (cached) the busybox base package into `outDir`. */
export async function buildBusyboxBase(outDir: string): Promise<FeedPackage> {
  const files: RpmFileSpec[] = [
    { path: "/bin/busybox", source: "/bin/busybox", mode: 0o755 },
    ...BUSYBOX_APPLETS.map((a) => ({ path: `/bin/${a}`, symlink: "busybox" })),
    { path: "/usr/share/busybox-base/VERSION", content: "1.0-1\n" },
  ];
  const file = await buildRpm({ name: "busybox-base", version: "1.0", release: "1", arch: "x86_64", files, outDir });
  return describeRpm(file, { name: "busybox-base", version: "1.0", release: "1", arch: "x86_64" });
}

let baseFeed: Promise<BaseFeed> | undefined;

/** The base feed (built once per test run). Do not write into its directory. */
export function buildBaseFeed(): Promise<BaseFeed> {
  if (!baseFeed) {
    baseFeed = (async () => {
      const dir = path.join(getRunDir(), "base");
      const packages = [await buildBusyboxBase(dir)];
      for (const name of BASE_PAYLOAD) packages.push(await buildPayloadRpm({ name, version: "1.0", outDir: dir }));
      return { dir, packages };
    })();
    baseFeed.catch(() => (baseFeed = undefined));
  }
  return baseFeed;
}

/** A fresh empty temp dir for a host root (removed at process exit). */
export function makeTempRoot(prefix = "root-"): string {
  return mkdtempSync(path.join(getRunDir(), prefix));
}
