import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { SEED_HOSTS, startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { rpmQ } from "../lib/rpm-query.js";
import { DEV_KEY } from "../lib/controller-harness.js";

/**
 * The seed's walk-through on a 2+2+2 system: six real agent processes with real rpm roots, the
 * real controller, patches built by patch_build, and the real sw-patch CLI.
 */
describe("end to end: the seed's walk-through on a 2+2+2 system", function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let work: string;
  let patch001: string;
  let patch002: string;
  const sw = (...args: string[]) => runCli("sw-patch", args, { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-e2e-"));
    // 001: in-service, an update of sysinv for every host plus a new package for controllers.
    const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    const helper = await buildPayloadRpm({ name: "sysinv-helper", version: "1.0", release: "1" });
    const b1 = await runCli("patch_build", [
      "--id",
      "001",
      "--release",
      "19.09",
      "--summary",
      "sysinv fix",
      "--status",
      "REL",
      "--reboot-required",
      "N",
      "--key",
      DEV_KEY,
      "--output-dir",
      work,
      "--controller",
      helper.file,
      sysinv2.file,
    ]);
    expect(b1.rc, b1.stderr).to.equal(0);
    patch001 = path.join(work, "001.patch");
    // 002: reboot-required update of pkg-a.
    const pkga2 = await buildPayloadRpm({ name: "pkg-a", version: "1.0", release: "2" });
    const b2 = await runCli("patch_build", ["--id", "002", "--release", "19.09", "--reboot-required", "Y", "--key", DEV_KEY, "--output-dir", work, pkga2.file]);
    expect(b2.rc, b2.stderr).to.equal(0);
    patch002 = path.join(work, "002.patch");
    cluster = await startCluster({ hosts: SEED_HOSTS, baseFeed: feed.dir });
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("provisioned every host root from the base feed with real rpm", () => {
    for (const a of cluster.agents.values()) {
      expect(rpmQ(a.root, "sysinv")).to.equal("sysinv-1.0-1.noarch");
      expect(rpmQ(a.root, "busybox-base")).to.equal("busybox-base-1.0-1.x86_64");
    }
  });

  it("upload, query and query-hosts as the seed shows them", async () => {
    expect(await sw("upload", patch001)).to.deep.include({ rc: 0, stdout: "001 is now available\n\n" });
    const q = await sw("query");
    expect(q.stdout).to.equal("Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n001       N    19.09    Available \n\n");
    const hosts = await sw("query-hosts");
    expect(hosts.rc).to.equal(0);
    const lines = hosts.stdout.trimEnd().split("\n");
    expect(lines[0]!.trim()).to.match(/^Hostname\s+IP Address\s+Patch Current\s+Reboot Required\s+Release\s+State$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/).filter(Boolean))).to.deep.equal([
      ["compute-0", "192.178.204.7", "Yes", "No", "19.09", "idle"],
      ["compute-1", "192.178.204.8", "Yes", "No", "19.09", "idle"],
      ["controller-0", "192.178.204.2", "Yes", "No", "19.09", "idle"],
      ["controller-1", "192.178.204.3", "Yes", "No", "19.09", "idle"],
      ["storage-0", "192.178.204.9", "Yes", "No", "19.09", "idle"],
      ["storage-1", "192.178.204.10", "Yes", "No", "19.09", "idle"],
    ]);
  });

  it("apply: 001 is in the repo, Partial-Apply, every host Patch Current No", async () => {
    expect(await sw("apply", "001")).to.deep.include({ rc: 0, stdout: "001 is now in the repo\n\n" });
    const q = await sw("query");
    expect(q.stdout).to.include("Partial-Apply");
    await cluster.waitHosts((hs) => hs.every((h) => h.patchCurrent === 2 /* No */));
  });

  it("host-install on each host, then 001 is Applied and every host current", async () => {
    const order = ["controller-0", "controller-1", "storage-0", "storage-1", "compute-0", "compute-1"];
    for (const [i, host] of order.entries()) {
      const r = await sw("host-install", host);
      expect(r.rc, `${host}: ${r.stdout}${r.stderr}`).to.equal(0);
      expect(r.stdout.trimEnd().endsWith("Installation was successful."), r.stdout).to.equal(true);
      const q = await sw("query");
      expect(q.stdout).to.include(i < order.length - 1 ? "Partial-Apply" : "Applied");
    }
    const q = await sw("query");
    expect(q.stdout).to.equal("Patch ID  RR  Release  Patch State\n========  ==  =======  ===========\n001       N    19.09     Applied  \n\n");
    const hosts = await sw("query-hosts");
    for (const l of hosts.stdout.trimEnd().split("\n").slice(2)) expect(l.split(/\s+/)[2]).to.equal("Yes");
    for (const a of cluster.agents.values()) {
      expect(rpmQ(a.root, "sysinv")).to.equal("sysinv-1.0-2.noarch");
      const helper = rpmQ(a.root, "sysinv-helper");
      if (a.spec.personality === "controller") expect(helper).to.equal("sysinv-helper-1.0-1.noarch");
      else expect(helper).to.equal("package sysinv-helper is not installed");
    }
    expect((await sw("is-applied", "001")).stdout.trim()).to.equal("True");
  });

  it("remove, then host-install back to the base packages on every host", async () => {
    expect(await sw("remove", "001")).to.deep.include({ rc: 0, stdout: "001 has been removed from the repo\n\n" });
    expect((await sw("query")).stdout).to.include("Partial-Remove");
    for (const host of cluster.agents.keys()) {
      const r = await sw("host-install", host);
      expect(r.stdout.trimEnd().endsWith("Installation was successful."), r.stdout + r.stderr).to.equal(true);
    }
    expect((await sw("query")).stdout).to.include("Available");
    for (const a of cluster.agents.values()) {
      expect(rpmQ(a.root, "sysinv")).to.equal("sysinv-1.0-1.noarch");
      expect(rpmQ(a.root, "sysinv-helper")).to.equal("package sysinv-helper is not installed");
    }
    expect((await sw("is-available", "001")).stdout.trim()).to.equal("True");
  });

  it("a reboot-required patch: refused unlocked, installed locked, Reboot Required until unlock reboots", async () => {
    expect((await sw("upload", patch002)).rc).to.equal(0);
    expect((await sw("apply", "002")).rc).to.equal(0);
    const rejected = await sw("host-install", "compute-0");
    expect(rejected.stdout.trimEnd().endsWith("Installation rejected. Node must be locked"), rejected.stdout).to.equal(true);
    expect(rejected.rc).to.equal(1);
    expect(rpmQ(cluster.agents.get("compute-0")!.root, "pkg-a")).to.equal("pkg-a-1.0-1.noarch");
    await cluster.clients.hosts.lockHost({ host: "compute-0", force: false });
    const ok = await sw("host-install", "compute-0");
    expect(ok.stdout.trimEnd().endsWith("Installation was successful."), ok.stdout + ok.stderr).to.equal(true);
    expect(rpmQ(cluster.agents.get("compute-0")!.root, "pkg-a")).to.equal("pkg-a-1.0-2.noarch");
    const h = (await cluster.clients.hosts.getHost({ host: "compute-0" })).host!;
    expect(h.requiresReboot).to.equal(true);
    const un = await cluster.clients.hosts.unlockHost({ host: "compute-0" });
    expect(un.rebooting).to.equal(true);
    await cluster.waitHosts((hs) => {
      const c = hs.find((x) => x.hostname === "compute-0")!;
      return c.connected && !c.requiresReboot && c.patchCurrent === 1;
    });
  });
});
