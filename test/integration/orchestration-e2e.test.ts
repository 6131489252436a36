import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { SEED_HOSTS, startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { uploadStream } from "../lib/grpc-clients.js";
import { AlarmRestrictions, ApplyType, type Strategy } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

/**
 * Patch orchestration end to end: the real controller (time scale 0.01), six real agents (the
 * workers run instances), real patches; strategies created, applied, aborted and resumed through
 * gRPC, sw-manager and the VIM REST API.
 */
describe("orchestration end to end (real agents, --time-scale 0.01)", function () {
  this.timeout(600_000);
  let cluster: Cluster;
  let work: string;
  const patchFiles: Record<string, string> = {};
  const hostsWithVms = SEED_HOSTS.map((h) => (h.personality === "worker" ? { ...h, extraArgs: ["--instances", "2"] } : h));

  const build = async (id: string, rpms: string[], rr: "Y" | "N") => {
    const r = await runCli("patch_build", [
      "--id",
      id,
      "--release",
      "19.09",
      "--reboot-required",
      rr,
      "--status",
      "REL",
      "--key",
      DEV_KEY,
      "--output-dir",
      work,
      ...rpms,
    ]);
    expect(r.rc, r.stderr).to.equal(0);
    patchFiles[id] = path.join(work, `${id}.patch`);
  };
  const uploadApply = async (id: string) => {
    await cluster.clients.patches.uploadPatch(uploadStream(patchFiles[id]!));
    await cluster.clients.patches.applyPatches({ patchIds: [id], all: false, skipSemantic: false });
    // Wait until every host reported (no interim "Pending" left), as an operator would.
    await cluster.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO || h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES));
  };
  const strategy = async (): Promise<Strategy> => (await cluster.clients.orchestration.getStrategy({})).strategy!;
  const waitState = async (want: string[], timeoutMs = 240_000): Promise<Strategy> => {
    const until = Date.now() + timeoutMs;
    let s = await strategy();
    while (!want.includes(s.state)) {
      if (Date.now() > until) throw new Error(`strategy stuck in ${s.state}: ${JSON.stringify({ apply: s.applyPhase?.reason, build: s.buildPhase?.reason })}`);
      await new Promise((r) => setTimeout(r, 200));
      s = await strategy();
    }
    return s;
  };
  const sm = (...args: string[]) => runCli("sw-manager", args, { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-orch-"));
    await build("INSVC", [(await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "5" })).file], "N");
    await build("RR", [(await buildPayloadRpm({ name: "pkg-a", version: "1.0", release: "5" })).file], "Y");
    await build("FAILS", [(await buildPayloadRpm({ name: "pkg-b", version: "1.0", release: "5", scripts: { pre: "exit 3" } })).file], "N");
    cluster = await startCluster({
      hosts: hostsWithVms,
      baseFeed: feed.dir,
      controller: { extraArgs: ["--time-scale", "0.01", "--vim-listen", "127.0.0.1:0"] },
    });
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("an in-service strategy on 2+2+2: six stages of 1891 s, applied, every host current", async () => {
    await uploadApply("INSVC");
    const c = await sm("patch-strategy", "create");
    expect(c.rc, c.stderr).to.equal(0);
    const built = await waitState(["ready-to-apply", "build-failed"]);
    expect(built.state, built.buildPhase?.reason).to.equal("ready-to-apply");
    expect(built.applyPhase!.stages.map((st) => st.timeout)).to.deep.equal([1891, 1891, 1891, 1891, 1891, 1891]);
    const a = await sm("patch-strategy", "apply");
    expect(a.rc, a.stderr).to.equal(0);
    const done = await waitState(["applied", "aborted", "apply-failed"]);
    expect(done.state, done.applyPhase?.reason).to.equal("applied");
    const show = await sm("patch-strategy", "show");
    expect(show.stdout).to.match(/state:\s+applied/);
    const q = (await cluster.clients.patches.queryPatches({ filter: 1, release: "" })).patches;
    expect(q.find((p) => p.id === "INSVC")!.patchState).to.equal(3); // Applied
    expect((await sm("patch-strategy", "delete")).rc).to.equal(0);
  });

  it("blocks on an alarm under strict, passes under relaxed with a minor alarm", async () => {
    await uploadApply("RR");
    const alarm = (
      await cluster.clients.hosts.raiseAlarm({
        alarmId: "100.101",
        entityInstanceId: "host=compute-0",
        severity: "minor",
        reasonText: "test alarm",
        mgmtAffecting: false,
        proposedRepairAction: "",
      })
    ).alarm!;
    await cluster.clients.orchestration.createStrategy({ alarmRestrictions: AlarmRestrictions.ALARM_RESTRICTIONS_STRICT } as never);
    const failed = await waitState(["build-failed", "ready-to-apply"]);
    expect(failed.state).to.equal("build-failed");
    expect(failed.buildPhase!.reason).to.equal("active alarms present: 100.101 (host=compute-0)");
    await cluster.clients.orchestration.deleteStrategy({ force: false });
    await cluster.clients.orchestration.createStrategy({ alarmRestrictions: AlarmRestrictions.ALARM_RESTRICTIONS_RELAXED } as never);
    const ok = await waitState(["build-failed", "ready-to-apply"]);
    expect(ok.state, ok.buildPhase?.reason).to.equal("ready-to-apply");
    await cluster.clients.orchestration.deleteStrategy({ force: false });
    await cluster.clients.hosts.clearAlarm({ uuid: alarm.uuid });
  });

  it("a reboot-required strategy (workers parallel, max 2) locks, installs, unlocks; survives a controller kill -9", async () => {
    await cluster.clients.orchestration.createStrategy({ workerApplyType: ApplyType.APPLY_TYPE_PARALLEL, maxParallelWorkerHosts: 2 } as never);
    const built = await waitState(["ready-to-apply", "build-failed"]);
    expect(built.state, built.buildPhase?.reason).to.equal("ready-to-apply");
    // Spec 8.2 gives 4636 s for the worker stage without instances; these workers run VMs, so
    // the stage also stops and starts them (stop-start is the default instance action).
    expect(built.applyPhase!.stages.map((st) => st.timeout).slice(0, 4)).to.deep.equal([7876, 7876, 6376, 6376]);
    const workerStage = built.applyPhase!.stages[4]!;
    expect(workerStage.steps.map((st) => st.name)).to.include.members(["stop-instances", "start-instances", "lock-hosts", "sw-patch-hosts", "unlock-hosts"]);
    expect(workerStage.steps.find((st) => st.name === "sw-patch-hosts")!.entityNames).to.deep.equal(["compute-0", "compute-1"]);
    await cluster.clients.orchestration.applyStrategy({});
    // Let it get going, then kill the controller and restart it on the same port and data.
    const until = Date.now() + 60_000;
    while ((await strategy()).applyPhase!.currentStage < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (!process.env.NO_RESTART) await cluster.restartController();
    const done = await waitState(["applied", "aborted"]);
    const failedSteps = done.applyPhase!.stages.flatMap((st) =>
      st.steps.filter((x) => x.result !== "success" && x.result !== "initial").map((x) => `${st.name}/${x.name}(${x.entityNames.join(",")}): ${x.result} ${x.reason}`),
    );
    expect(done.state, `${done.applyPhase?.reason} ${failedSteps.join("; ")}`).to.equal("applied");
    await cluster.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_YES && !h.requiresReboot && h.adminState === 2 && h.connected));
    // The workers' instances survived the stop/start (or migration) steps.
    const workers = (await cluster.clients.hosts.listHosts({})).hosts.filter((h) => h.personality === "worker");
    expect(workers.flatMap((w) => w.instances).length).to.equal(4);
    expect(workers.flatMap((w) => w.instances).every((i) => i.state === "running")).to.equal(true);
    await cluster.clients.orchestration.deleteStrategy({ force: false });
  });

  it("an install failure on a host: apply-failed, then automatically aborted with the reason", async () => {
    await uploadApply("FAILS");
    await cluster.clients.orchestration.createStrategy({});
    expect((await waitState(["ready-to-apply", "build-failed"])).state).to.equal("ready-to-apply");
    await cluster.clients.orchestration.applyStrategy({});
    const s = await waitState(["aborted", "applied", "abort-failed", "abort-timeout"]);
    expect(s.state).to.equal("aborted");
    expect(s.applyPhase!.result).to.equal("failed");
    expect(s.applyPhase!.reason).to.match(/install|failed/i);
    await cluster.clients.orchestration.deleteStrategy({ force: false });
  });

  it("abort mid-apply stops after the running step", async () => {
    await cluster.clients.patches.removePatches({ patchIds: ["FAILS"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
    await cluster.waitHosts((hs) => hs.every((h) => h.patchCurrent !== PatchCurrent.PATCH_CURRENT_PENDING));
    await cluster.clients.orchestration.createStrategy({});
    const b = await waitState(["ready-to-apply", "build-failed"]);
    expect(b.state, b.buildPhase?.reason).to.equal("ready-to-apply");
    await cluster.clients.orchestration.applyStrategy({});
    await waitState(["applying"]);
    await cluster.clients.orchestration.abortStrategy({});
    const s = await waitState(["aborted", "applied"]);
    expect(s.state).to.equal("aborted");
    await cluster.clients.orchestration.deleteStrategy({ force: false });
  });

  it("the VIM REST API answers on both paths with the reference JSON", async () => {
    const base = `http://${cluster.controller.vimAddress}`;
    const headers = { "X-Auth-Token": cluster.controller.adminToken, "Content-Type": "application/json" };
    expect((await fetch(`${base}/api/orchestration/sw-patch/strategy`)).status).to.equal(403);
    const none = await fetch(`${base}/api/orchestration/sw-update/strategy`, { headers });
    expect(none.status).to.equal(200);
    expect(await none.json()).to.deep.equal({ strategy: null });
    const created = await fetch(`${base}/api/orchestration/sw-patch/strategy`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        "controller-apply-type": "serial",
        "storage-apply-type": "serial",
        "worker-apply-type": "serial",
        "default-instance-action": "stop-start",
        "alarm-restrictions": "strict",
      }),
    });
    expect(created.status).to.equal(200);
    const body = (await created.json()) as { strategy: Record<string, unknown> };
    expect(body.strategy["controller-apply-type"]).to.equal("serial");
    const got = await fetch(`${base}/api/orchestration/sw-update/strategy`, { headers });
    expect(got.status).to.equal(200);
    const g = (await got.json()) as { strategy: { uuid: string } };
    expect(g.strategy.uuid).to.equal((body.strategy as { uuid: string }).uuid);
    await waitState(["ready-to-apply", "build-failed"]);
    const del = await fetch(`${base}/api/orchestration/sw-patch/strategy`, { method: "DELETE", headers });
    expect([200, 204]).to.include(del.status);
  });
});
