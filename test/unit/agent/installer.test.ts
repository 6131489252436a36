import { expect } from "chai";
import { existsSync, promises as fsp, readFileSync } from "node:fs";
import * as path from "node:path";
import { InstallPhase, type InstallProgress } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";
import type { DesiredPackage } from "../../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { buildBaseFeed, buildPayloadRpm, makeTempRoot, toDesired, type FeedPackage } from "../../lib/base-feed.js";
import { converge, InstallInProgressError, planChanges, recoverInterruptedInstall, type FetchPackageFn } from "../../../server/agent/installer.js";
import { hostPaths } from "../../../server/agent/host-paths.js";
import { rpmInitDb, rpmUpgrade } from "../../../server/agent/rpm.js";
import { rpmQ } from "../../lib/rpm-query.js";

/** A fetch that copies the package's file from a local map by sha256, in 4 KiB steps of onBytes. */
function localFetch(pkgs: FeedPackage[], opts: { corrupt?: boolean; gate?: Promise<void> } = {}): FetchPackageFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (pkg: DesiredPackage, ctx) => {
    calls.push(pkg.fileName);
    if (opts.gate) await opts.gate;
    const src = pkgs.find((p) => p.sha256 === pkg.sha256);
    if (!src) throw new Error(`no package ${pkg.sha256}`);
    const data = await fsp.readFile(src.file);
    if (opts.corrupt) data[data.length - 1] ^= 0xff;
    await fsp.writeFile(ctx.destPath, data);
    for (let n = 4096; n < data.length; n += 4096) ctx.onBytes(n);
    ctx.onBytes(data.length);
    return ctx.destPath;
  }) as FetchPackageFn & { calls: string[] };
  fn.calls = calls;
  return fn;
}

async function provisionedRoot(): Promise<{ root: string; feed: FeedPackage[] }> {
  const feed = (await buildBaseFeed()).packages;
  const root = makeTempRoot();
  await rpmInitDb(root);
  await rpmUpgrade(
    root,
    feed.map((p) => p.file),
  );
  return { root, feed };
}

describe("agent installer", function () {
  this.timeout(120000);

  describe("planChanges", () => {
    const inst = (name: string, version: string, release = "1") => ({ name, epoch: "0", version, release, arch: "noarch" });
    const want = (name: string, version: string, release = "1", epoch = ""): DesiredPackage => ({
      name,
      epoch,
      version,
      release,
      arch: "noarch",
      fileName: `${name}-${version}-${release}.noarch.rpm`,
      sha256: "x",
      sizeBytes: 0,
    });

    it("classifies install, upgrade, downgrade, erase and unchanged packages", () => {
      const plan = planChanges(
        [inst("a", "1.0"), inst("b", "2.0"), inst("c", "1.0"), inst("d", "1.0"), inst("keep", "1")],
        [want("a", "1.10"), want("b", "1.9"), want("c", "1.0"), want("new", "1")],
        ["d", "gone", "c"],
      );
      expect(plan.map((c) => `${c.kind}:${c.name}`)).to.deep.equal(["install:new", "upgrade:a", "downgrade:b", "erase:d"]);
    });

    it("orders by epoch first", () => {
      expect(planChanges([inst("a", "9.0")], [want("a", "1.0", "1", "1")])[0]!.kind).to.equal("upgrade");
    });
  });

  it("provisions an empty root with the base feed, with download and install progress", async () => {
    const feed = (await buildBaseFeed()).packages;
    const root = makeTempRoot();
    await rpmInitDb(root);
    const progress: InstallProgress[] = [];
    const t0 = process.hrtime.bigint();
    const res = await converge(root, {
      desired: feed.map(toDesired),
      fetch: localFetch(feed),
      onProgress: (p) => progress.push(p),
      operationId: "op-1",
      hostname: "h1",
      progressIntervalMs: 0,
    });
    console.log(`      converge provision (${feed.length} packages, with fetch+sha256): ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
    expect(res).to.include({ changed: true, requiresReboot: false });
    expect(res.failedReason).to.equal(undefined);
    for (const p of feed) expect(rpmQ(root, p.name)).to.equal(p.fileName.replace(/\.rpm$/, ""));
    const phases = progress.map((p) => p.phase);
    expect(phases[0]).to.equal(InstallPhase.INSTALL_PHASE_QUEUED);
    const downloads = progress.filter((p) => p.phase === InstallPhase.INSTALL_PHASE_DOWNLOADING && p.message === "downloaded");
    expect(downloads.map((p) => `${p.current}/${p.total}`)).to.deep.equal(["1/4", "2/4", "3/4", "4/4"]);
    const busybox = downloads.find((p) => p.item.startsWith("busybox-base"))!;
    expect(busybox.bytesDone).to.equal(busybox.bytesTotal).and.to.be.greaterThan(100000);
    expect(progress.some((p) => p.phase === InstallPhase.INSTALL_PHASE_DOWNLOADING && p.bytesDone > 0 && p.bytesDone < p.bytesTotal)).to.equal(true);
    const installed = progress.filter((p) => p.phase === InstallPhase.INSTALL_PHASE_INSTALLING && p.item !== "");
    expect(installed.map((p) => p.item).sort()).to.deep.equal(feed.map((p) => p.fileName).sort());
    expect(installed.map((p) => p.current)).to.deep.equal([1, 2, 3, 4]);
    const last = progress[progress.length - 1]!;
    expect(last).to.include({ phase: InstallPhase.INSTALL_PHASE_DONE, terminal: true, operationId: "op-1", hostname: "h1" });
    expect(progress.filter((p) => p.terminal)).to.have.length(1);
    const paths = hostPaths(root);
    for (const f of [paths.patchInstalling, paths.patchInstallFailed, paths.nodeIsPatched, paths.nodeIsPatchedRr, paths.patchScripts])
      expect(existsSync(f), f).to.equal(false);
    expect(await fsp.readdir(paths.downloads)).to.deep.equal([]);
  });

  it("reports no changes when the root already matches", async () => {
    const { root, feed } = await provisionedRoot();
    const fetch = localFetch(feed);
    const res = await converge(root, { desired: feed.map(toDesired), fetch });
    expect(res).to.include({ changed: false, requiresReboot: false });
    expect(res.changes).to.deep.equal([]);
    expect(fetch.calls).to.deep.equal([]);
  });

  it("upgrades, runs the in-service restart script dropped by %post, then clears the folder", async () => {
    const { root, feed } = await provisionedRoot();
    const a2 = await buildPayloadRpm({
      name: "pkg-a",
      version: "2.0",
      scripts: {
        post: 'mkdir -p /run/patching/patch-scripts\nprintf "#!/bin/sh\\necho restarted-pkg-a >> /var/log/restarts\\n" > /run/patching/patch-scripts/10-pkg-a\nchmod 700 /run/patching/patch-scripts/10-pkg-a',
      },
    });
    const desired = [...feed.filter((p) => p.name !== "pkg-a"), a2].map(toDesired);
    const t0 = process.hrtime.bigint();
    const progress: InstallProgress[] = [];
    const res = await converge(root, { desired, erase: ["pkg-b"], fetch: localFetch([...feed, a2]), onProgress: (p) => progress.push(p) });
    console.log(`      converge upgrade+erase+script: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
    expect(res.failedReason).to.equal(undefined);
    expect(res.changes.map((c) => `${c.kind}:${c.name}`)).to.deep.equal(["upgrade:pkg-a"]); // pkg-b is desired, so not erased
    expect(res.scriptsRun).to.deep.equal(["10-pkg-a"]);
    expect(readFileSync(path.join(root, "var/log/restarts"), "utf8")).to.equal("restarted-pkg-a\n");
    expect(readFileSync(hostPaths(root).insvcLog, "utf8")).to.contain("echo restarted-pkg-a");
    expect(existsSync(hostPaths(root).patchScripts)).to.equal(false);
    expect(existsSync(hostPaths(root).nodeIsPatched)).to.equal(false);
    expect(rpmQ(root, "pkg-a")).to.equal("pkg-a-2.0-1.noarch");
    expect(progress.some((p) => p.phase === InstallPhase.INSTALL_PHASE_RUNNING_SCRIPTS && p.item === "10-pkg-a")).to.equal(true);

    // Downgrade back (patch removed) and erase pkg-b.
    const res2 = await converge(root, { desired: feed.filter((p) => p.name !== "pkg-b").map(toDesired), erase: ["pkg-b"], fetch: localFetch(feed) });
    expect(res2.failedReason).to.equal(undefined);
    expect(res2.changes.map((c) => `${c.kind}:${c.name}`)).to.deep.equal(["downgrade:pkg-a", "erase:pkg-b"]);
    expect(rpmQ(root, "pkg-a")).to.equal("pkg-a-1.0-1.noarch");
    expect(rpmQ(root, "pkg-b")).to.equal("package pkg-b is not installed");
  });

  it("skips the scripts and requires a reboot when a package sets node_is_patched_rr", async () => {
    const { root } = await provisionedRoot();
    const s2 = await buildPayloadRpm({
      name: "sysinv",
      version: "2.0",
      scripts: {
        post: "mkdir -p /var/run /run/patching/patch-scripts\ntouch /var/run/node_is_patched_rr\nprintf 'touch /should-not-run\\n' > /run/patching/patch-scripts/s\nchmod 700 /run/patching/patch-scripts/s",
      },
    });
    const res = await converge(root, { desired: [s2].map(toDesired), fetch: localFetch([s2]) });
    expect(res).to.include({ changed: true, requiresReboot: true });
    expect(res.scriptsRun).to.deep.equal([]);
    expect(existsSync(path.join(root, "should-not-run"))).to.equal(false);
    expect(existsSync(hostPaths(root).nodeIsPatched)).to.equal(true);
  });

  it("marks a reboot required when the controller says the change is reboot-required", async () => {
    const { root, feed } = await provisionedRoot();
    const b2 = await buildPayloadRpm({ name: "pkg-b", version: "2.0" });
    const res = await converge(root, { desired: [b2].map(toDesired), fetch: localFetch([b2]), rebootRequired: true });
    expect(res).to.include({ changed: true, requiresReboot: true });
    void feed;
  });

  it("fails with rpm's error text when a %pre scriptlet fails", async () => {
    const { root } = await provisionedRoot();
    const bad = await buildPayloadRpm({ name: "pkg-bad", version: "1.0", scripts: { pre: 'echo "pre check failed" >&2\nexit 3' } });
    const progress: InstallProgress[] = [];
    const res = await converge(root, { desired: [bad].map(toDesired), fetch: localFetch([bad]), onProgress: (p) => progress.push(p) });
    expect(res.failedReason).to.contain("error: %prein(pkg-bad-1.0-1.noarch) scriptlet failed, exit status 3");
    expect(res.failedReason).to.contain("pre check failed");
    expect(progress[progress.length - 1]).to.include({ phase: InstallPhase.INSTALL_PHASE_FAILED, terminal: true, message: res.failedReason });
    expect(readFileSync(hostPaths(root).patchInstallFailed, "utf8")).to.contain("scriptlet failed");
    expect(existsSync(hostPaths(root).patchInstalling)).to.equal(false);
    expect(rpmQ(root, "pkg-bad")).to.equal("package pkg-bad is not installed");

    // A later good install clears the failed flag.
    const ok = await converge(root, { desired: [], fetch: localFetch([]) });
    expect(ok.failedReason).to.equal(undefined);
    expect(existsSync(hostPaths(root).patchInstallFailed)).to.equal(false);
  });

  it("fails a failing restart script and keeps node_is_patched", async () => {
    const { root } = await provisionedRoot();
    const c = await buildPayloadRpm({
      name: "pkg-c",
      version: "1.0",
      scripts: { post: "mkdir -p /run/patching/patch-scripts\nprintf 'exit 4\\n' > /run/patching/patch-scripts/c\nchmod 700 /run/patching/patch-scripts/c" },
    });
    const res = await converge(root, { desired: [c].map(toDesired), fetch: localFetch([c]) });
    expect(res.failedReason).to.equal("1 patch script(s) failed: c");
    expect(existsSync(hostPaths(root).nodeIsPatched)).to.equal(true);
  });

  it("fails on a sha256 mismatch without installing anything", async () => {
    const { root } = await provisionedRoot();
    const d = await buildPayloadRpm({ name: "pkg-d", version: "1.0" });
    const res = await converge(root, { desired: [d].map(toDesired), fetch: localFetch([d], { corrupt: true }) });
    expect(res.failedReason).to.match(new RegExp(`^sha256 mismatch for pkg-d-1.0-1.noarch.rpm: expected ${d.sha256}, got [0-9a-f]{64}$`));
    expect(rpmQ(root, "pkg-d")).to.equal("package pkg-d is not installed");
  });

  it("refuses a second concurrent install on the same root", async () => {
    const { root } = await provisionedRoot();
    const e = await buildPayloadRpm({ name: "pkg-e", version: "1.0" });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const fetch = localFetch([e], { gate });
    const first = converge(root, { desired: [e].map(toDesired), fetch });
    while (fetch.calls.length === 0) await new Promise((r) => setImmediate(r));
    expect(existsSync(hostPaths(root).patchInstalling)).to.equal(true);
    const second = await converge(root, { desired: [], fetch: localFetch([]) }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(second).to.be.instanceOf(InstallInProgressError);
    expect((second as Error).message).to.equal("Install already in progress");
    open();
    const res = await first;
    expect(res.failedReason).to.equal(undefined);
    expect(rpmQ(root, "pkg-e")).to.equal("pkg-e-1.0-1.noarch");
  });

  it("aborts an install through its signal", async () => {
    const { root } = await provisionedRoot();
    const f = await buildPayloadRpm({ name: "pkg-f", version: "1.0" });
    const ac = new AbortController();
    const fetch: FetchPackageFn = async (_pkg, ctx) => {
      ac.abort();
      throw ctx.signal.reason;
    };
    const res = await converge(root, { desired: [f].map(toDesired), fetch, signal: ac.signal });
    expect(res.failedReason).to.equal("install aborted");
  });

  it("turns a leftover patch_installing flag into an interrupted install", async () => {
    const root = makeTempRoot();
    const paths = hostPaths(root);
    await fsp.mkdir(path.dirname(paths.patchInstalling), { recursive: true });
    await fsp.writeFile(paths.patchInstalling, "op-9\n");
    expect(await recoverInterruptedInstall(root)).to.deep.equal({ operationId: "op-9", reason: "agent restarted during install" });
    expect(existsSync(paths.patchInstalling)).to.equal(false);
    expect(readFileSync(paths.patchInstallFailed, "utf8")).to.equal("agent restarted during install\n");
    expect(await recoverInterruptedInstall(root)).to.equal(null);
  });
});
