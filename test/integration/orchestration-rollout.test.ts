import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startCluster, type AgentSpec, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { uploadStream } from "../lib/grpc-clients.js";
import { ApplyType, type Strategy } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

/**
 * Safer rollouts end to end (issue 20): a real controller (time scale 0.01) and real rpm agents,
 * four workers with a health check (`--health-check`: unhealthy while `<root>/sick` exists).
 * Patches fail on a host whose root holds `/fail-here` (their pre scriptlet runs chrooted there).
 */
describe("safer rollouts end to end (real agents, --time-scale 0.01)", function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let work: string;
  const workers = ["compute-0", "compute-1", "compute-2", "compute-3"];
  const hosts: AgentSpec[] = [
    { hostname: "controller-0", personality: "controller" },
    { hostname: "controller-1", personality: "controller" },
    ...workers.map((h): AgentSpec => ({
      hostname: h,
      personality: "worker",
      extraArgs: ["--health-check", 'test ! -e "$SWPATCH_HOST_ROOT/sick" || { echo sick; exit 1; }', "--health-interval", "0.3"],
    })),
  ];
  const FAIL_SCRIPT = "test -e /fail-here && exit 3; exit 0";

  const build = async (id: string, pkg: string, rr: "Y" | "N") => {
    const rpm = (await buildPayloadRpm({ name: pkg, version: "2.0", release: "1", scripts: { pre: FAIL_SCRIPT } })).file;
    const r = await runCli("patch_build", ["--id", id, "--release", "19.09", "--reboot-required", rr, "--status", "REL", "--key", DEV_KEY, "--output-dir", work, rpm]);
    expect(r.rc, r.stderr).to.equal(0);
    await cluster.clients.patches.uploadPatch(uploadStream(path.join(work, `${id}.patch`)));
    await cluster.clients.patches.applyPatches({ patchIds: [id], all: false, skipSemantic: false });
    await cluster.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO || h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES));
  };
  const rpmQ = (host: string, pkg: string) => execFileSync("rpm", ["-q", "--root", cluster.agents.get(host)!.root, pkg], { encoding: "utf8" }).trim();
  const versions = (pkg: string) => Object.fromEntries(workers.map((h) => [h, rpmQ(h, pkg)]));
  const marker = (host: string, name: string, on: boolean) => {
    const f = path.join(cluster.agents.get(host)!.root, name);
    if (on) writeFileSync(f, "");
    else rmSync(f, { force: true });
  };
  const strategy = async (): Promise<Strategy> => (await cluster.clients.orchestration.getStrategy({})).strategy!;
  const waitFor = async (pred: (s: Strategy) => boolean, what: string, timeoutMs = 120_000): Promise<Strategy> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = await strategy();
      if (pred(s)) return s;
      if (Date.now() > until) throw new Error(`${what}: strategy stuck in ${s.state}: ${s.applyPhase?.reason} ${s.stopReason}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const waitState = (want: string[]) => waitFor((s) => want.includes(s.state), `waiting for ${want.join("|")}`);
  const sm = (...args: string[]) => runCli("sw-manager", args, { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });
  const settled = () => cluster.waitHosts((hs) => hs.every((h) => h.connected && h.patchCurrent !== PatchCurrent.PATCH_CURRENT_PENDING && h.adminState === 2));

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-rollout-"));
    cluster = await startCluster({ hosts, baseFeed: feed.dir, controller: { extraArgs: ["--time-scale", "0.01", "--vim-listen", "127.0.0.1:0"] } });
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("a budget of 1 where two hosts fail stops after the second failure, then rolls every patched host back (in-service)", async () => {
    const before = versions("sysinv");
    await build("BUDGET", "sysinv", "N");
    marker("compute-1", "fail-here", true);
    marker("compute-2", "fail-here", true);
    const c = await sm("patch-strategy", "create", "--controller-apply-type", "ignore", "--max-failures", "1", "--on-failure", "rollback");
    expect(c.rc, c.stderr).to.equal(0);
    expect(c.stdout).to.match(/max-failures:\s+1\n/);
    const built = await waitState(["ready-to-apply", "build-failed"]);
    expect(built.state, built.buildPhase?.reason).to.equal("ready-to-apply");
    expect(built.failureBudget).to.equal(1);
    expect((await sm("patch-strategy", "apply")).rc).to.equal(0);
    const s = await waitState(["rolled-back", "rollback-failed", "aborted", "applied"]);
    expect(s.state, `${s.stopReason} ${s.rollbackPhase?.reason}`).to.equal("rolled-back");
    expect(s.failures).to.equal(2);
    expect(s.executed).to.equal(3);
    expect(s.stopReason).to.equal("failure budget spent: 2 host(s) failed, budget 1 (3 host(s) finished)");
    // compute-3 never started: its sw-patch-hosts step is still initial.
    const c3 = s.applyPhase!.stages.find((st) => st.steps.some((x) => x.name === "sw-patch-hosts" && x.entityNames.includes("compute-3")))!;
    expect(c3.steps.find((x) => x.name === "sw-patch-hosts")!.result).to.equal("initial");
    expect(s.rollbackPhase!.stages.map((st) => st.steps.find((x) => x.name === "sw-patch-hosts")?.entityNames.join(",") ?? st.name)).to.deep.equal([
      "sw-patch-rollback",
      "compute-2",
      "compute-1",
      "compute-0",
    ]);
    await settled();
    expect(versions("sysinv")).to.deep.equal(before);
    const q = (await cluster.clients.patches.queryPatches({ filter: 0, release: "" })).patches;
    expect(q.find((p) => p.id === "BUDGET")!.patchState).to.equal(1); // Available
    const show = await sm("patch-strategy", "show");
    expect(show.stdout).to.match(/failure-budget:\s+2 of 1 spent, 0 left\n/);
    expect(show.stdout).to.match(/rollback-result:\s+success\n/);
    marker("compute-1", "fail-here", false);
    marker("compute-2", "fail-here", false);
    expect((await sm("patch-strategy", "delete")).rc).to.equal(0);
  });

  it("a canary that turns unhealthy during its soak stops the strategy before any other host", async () => {
    const before = versions("pkg-b");
    await build("CANARY", "pkg-b", "N");
    await cluster.clients.orchestration.createStrategy({
      controllerApplyType: ApplyType.APPLY_TYPE_IGNORE,
      canaryHosts: ["compute-3"],
      soakSeconds: 3000,
      healthGate: "agents",
      onFailure: "rollback",
    } as never);
    const built = await waitState(["ready-to-apply", "build-failed"]);
    expect(built.state, built.buildPhase?.reason).to.equal("ready-to-apply");
    expect(built.canaryStages).to.equal(1);
    await cluster.clients.orchestration.applyStrategy({});
    await waitFor((s) => s.applyPhase!.stages[0]!.steps.some((x) => x.name === "soak" && x.result === "wait"), "soak running");
    expect(rpmQ("compute-3", "pkg-b")).to.match(/^pkg-b-2\.0-1/);
    marker("compute-3", "sick", true);
    const s = await waitState(["rolled-back", "rollback-failed", "aborted", "applied"]);
    marker("compute-3", "sick", false);
    expect(s.state, s.stopReason).to.equal("rolled-back");
    expect(s.stopReason).to.match(/^health gate agents failed during the soak: compute-3: health check failing: exit 1: sick$/);
    expect(s.gateVerdicts.some((v) => v.verdict === "fail" && v.gate === "agents" && v.evidence.includes("compute-3"))).to.equal(true);
    // No other host was touched; the canary is back on its old package.
    expect(s.applyPhase!.stages.slice(1).every((st) => st.steps.every((x) => x.result === "initial"))).to.equal(true);
    await settled();
    expect(versions("pkg-b")).to.deep.equal(before);
    await cluster.clients.orchestration.deleteStrategy({ force: false });
  });

  it("rollback of a reboot-required patch, with a controller kill -9 during the rollback, returns every patched host", async () => {
    const before = versions("pkg-a");
    await build("REBOOT", "pkg-a", "Y");
    marker("compute-2", "fail-here", true);
    await cluster.clients.orchestration.createStrategy({ controllerApplyType: ApplyType.APPLY_TYPE_IGNORE, onFailure: "rollback" } as never);
    expect((await waitState(["ready-to-apply", "build-failed"])).state).to.equal("ready-to-apply");
    await cluster.clients.orchestration.applyStrategy({});
    const rolling = await waitState(["rolling-back", "rolled-back", "aborted", "applied"]);
    expect(rolling.state).to.equal("rolling-back");
    await cluster.restartController();
    const s = await waitState(["rolled-back", "rollback-failed"]);
    expect(s.state, s.rollbackPhase?.reason).to.equal("rolled-back");
    expect(s.stopReason).to.equal("software update failed to apply on host compute-2");
    const steps = s.rollbackPhase!.stages.slice(1).map((st) => st.steps.map((x) => `${x.name}[${x.entityNames.join(",")}]`).join(" "));
    expect(steps[0]).to.equal("lock-hosts[compute-2] sw-patch-hosts[compute-2] system-stabilize[] unlock-hosts[compute-2] system-stabilize[]");
    expect(steps.length).to.equal(3);
    await settled();
    expect(versions("pkg-a")).to.deep.equal(before);
    marker("compute-2", "fail-here", false);
    await cluster.clients.orchestration.deleteStrategy({ force: false });
  });
});
