import { expect } from "chai";
import { DomainError } from "../../../server/domain/errors.js";
import { budgetExhausted, failureBudget, parseMaxFailures, runBatches } from "../../../server/domain/orchestration/error-budget.js";
import { evaluateGate } from "../../../server/domain/orchestration/health-gate.js";
import type { Strategy } from "../../../server/domain/orchestration/model.js";
import { Orchestrator } from "../../../server/domain/orchestration/orchestrator.js";
import { normalizeRolloutOptions } from "../../../server/domain/orchestration/rollout-options.js";
import { createMemoryStrategyPersistence } from "../../lib/memory-strategy-persistence.js";
import { FakeCluster } from "./fake-cluster.js";
import { host, snapshot } from "./fixtures.js";

const SCALE = 0.0002;

/** A fake cluster that can also remove patches (the rollback's first step): patched hosts are then no longer current. */
class RollbackCluster extends FakeCluster {
  removed: string[] = [];
  async removePatches(ids: readonly string[]): Promise<void> {
    this.actions.push(`remove ${ids.join(",")}`);
    this.removed.push(...ids);
    for (const p of this.snap.patches) if (ids.includes(p.id)) p.patchState = "Partial-Remove";
    for (const h of this.snap.hosts) if (h.patchCurrent || h.patchFailed) Object.assign(h, { patchCurrent: false, patchFailed: false });
    // Going back to the old packages works where the new ones failed.
    this.failInstall.clear();
  }
}

function workers(n: number) {
  return [host("controller-0", { patchCurrent: true }), host("controller-1", { patchCurrent: true }), ...Array.from({ length: n }, (_, i) => host(`compute-${i}`))];
}

async function run(cluster: FakeCluster, opts: Parameters<Orchestrator["create"]>[0], rollout: Parameters<Orchestrator["create"]>[1]) {
  const orch = new Orchestrator({ port: cluster, persistence: createMemoryStrategyPersistence(), timeScale: SCALE, auditIntervalS: 1 });
  await orch.create(opts, rollout);
  await orch.idle();
  const built = orch.get();
  expect(built.state, built.buildPhase.reason).to.equal("ready-to-apply");
  await orch.apply();
  await orch.idle();
  return { orch, s: orch.get() };
}

const installs = (c: FakeCluster) => c.actions.filter((a) => a.startsWith("install ")).map((a) => a.slice(8));

describe("safer rollouts: the error budget (table)", () => {
  const budgets: [string, number, number][] = [
    ["", 10, 0],
    ["0", 10, 0],
    ["3", 10, 3],
    ["10%", 10, 1],
    ["10%", 11, 2], // 1.1 rounds up
    ["12.5%", 8, 1], // exactly 1, no float creep
    ["33%", 3, 1], // 0.99 rounds up
    ["1%", 1, 1],
    ["100%", 7, 7],
    ["0%", 100, 0],
  ];
  for (const [spec, hosts, want] of budgets) {
    it(`--max-failures ${JSON.stringify(spec)} over ${hosts} host(s) allows ${want} failure(s)`, () => {
      expect(failureBudget(spec, hosts)).to.equal(want);
    });
  }

  for (const bad of ["-1", "x", "101%", "5%%", "1.5"]) {
    it(`refuses --max-failures ${JSON.stringify(bad)} naming the field`, () => {
      expect(() => parseMaxFailures(bad))
        .to.throw(DomainError)
        .with.property("message")
        .that.matches(/^max_failures:/);
    });
  }

  // Batches are stages (hosts started together); true = host succeeded.
  const T = true;
  const F = false;
  const cases: { name: string; batches: boolean[][]; budget: number; minExecuted: number; stoppedBefore: number | undefined; failures: number; notStarted: number }[] = [
    {
      name: "budget 0: the first failure stops before the next batch",
      batches: [[T], [F], [T], [T]],
      budget: 0,
      minExecuted: 0,
      stoppedBefore: 2,
      failures: 1,
      notStarted: 2,
    },
    {
      name: "budget 1, two serial failures: stops after the second, not before",
      batches: [[F], [T], [F], [T], [T]],
      budget: 1,
      minExecuted: 0,
      stoppedBefore: 3,
      failures: 2,
      notStarted: 2,
    },
    {
      name: "failures in flight when the budget runs out all finish and all count",
      batches: [
        [T, F],
        [F, F],
        [T, T],
      ],
      budget: 1,
      minExecuted: 0,
      stoppedBefore: 2,
      failures: 3,
      notStarted: 2,
    },
    { name: "a fully failed batch counts every host", batches: [[F, F, F, F], [T]], budget: 2, minExecuted: 0, stoppedBefore: 1, failures: 4, notStarted: 1 },
    { name: "exactly at the budget goes on to the end", batches: [[F], [F], [T]], budget: 2, minExecuted: 0, stoppedBefore: undefined, failures: 2, notStarted: 0 },
    {
      name: "over the budget after the last batch still fails the strategy",
      batches: [[T], [F, F]],
      budget: 1,
      minExecuted: 0,
      stoppedBefore: 2,
      failures: 2,
      notStarted: 0,
    },
    {
      name: "min-executed holds the decision until enough hosts finished",
      batches: [[F], [F], [T], [T], [T]],
      budget: 0,
      minExecuted: 3,
      stoppedBefore: 3,
      failures: 2,
      notStarted: 2,
    },
    {
      name: "min-executed larger than the strategy: no decision until the end, then it fails",
      batches: [[F], [T]],
      budget: 0,
      minExecuted: 2,
      stoppedBefore: 2,
      failures: 1,
      notStarted: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = runBatches(c.batches, { budget: c.budget, minExecuted: c.minExecuted });
      expect({ stoppedBefore: r.stoppedBefore, failures: r.failures, notStarted: r.notStarted }).to.deep.equal({
        stoppedBefore: c.stoppedBefore,
        failures: c.failures,
        notStarted: c.notStarted,
      });
    });
  }

  it("after a resume, the failures so far are accepted and only a new one stops it again", () => {
    expect(budgetExhausted({ budget: 1, failures: 2, executed: 5, minExecuted: 0, acceptedFailures: 2 })).to.equal(false);
    expect(budgetExhausted({ budget: 1, failures: 3, executed: 6, minExecuted: 0, acceptedFailures: 2 })).to.equal(true);
  });

  it("checks the other create options and names the field", () => {
    expect(normalizeRolloutOptions({})).to.deep.include({ maxFailures: "", healthGate: "alarms", onFailure: "abort", canary: 0 });
    expect(() => normalizeRolloutOptions({ healthGate: "pings" as never })).to.throw(/^health_gate:/);
    expect(() => normalizeRolloutOptions({ onFailure: "retry" as never })).to.throw(/^on_failure:/);
    expect(() => normalizeRolloutOptions({ soakSeconds: 10 })).to.throw(/^soak_seconds: needs canary/);
    expect(() => normalizeRolloutOptions({ canary: 1, canaryHosts: ["compute-0"] })).to.throw(/^canary_hosts:/);
  });
});

describe("safer rollouts: the health gate", () => {
  const since = new Date("2026-12-03T10:00:00Z");
  const alarm = (alarmId: string, at: string, mgmtAffecting = true) => ({
    uuid: alarmId,
    alarmId,
    entityInstanceId: "host=compute-0",
    severity: "major",
    mgmtAffecting,
    raisedAt: new Date(at),
  });
  const ctx = { since, patchedHosts: ["compute-0"], restriction: "strict" as const };

  it("alarms: fails on a management-affecting alarm raised since the start; older, ignored and non-affecting ones pass", () => {
    const old = snapshot([host("compute-0")], {
      alarms: [alarm("100.101", "2026-12-03T09:00:00Z"), alarm("200.001", "2026-12-03T10:05:00Z"), alarm("100.102", "2026-12-03T10:05:00Z", false)],
    });
    expect(evaluateGate("alarms", old, ctx).verdict).to.equal("pass");
    const raised = snapshot([host("compute-0")], { alarms: [alarm("100.114", "2026-12-03T10:01:00Z")] });
    expect(evaluateGate("alarms", raised, ctx)).to.deep.equal({
      verdict: "fail",
      evidence: "management-affecting alarm(s) raised since the strategy started: 100.114 (host=compute-0)",
    });
    expect(evaluateGate("alarms", raised, { ...ctx, extraIgnoredAlarms: ["100.114"] }).verdict).to.equal("pass");
  });

  it("agents: fails on a patched host's failing check, inconclusive for an offline one, unpatched hosts ignored", () => {
    const bad = { configured: true, healthy: false, detail: "exit 3: db down" };
    const snap = snapshot([host("compute-0", { health: bad }), host("compute-1", { health: bad })]);
    expect(evaluateGate("agents", snap, ctx)).to.deep.equal({ verdict: "fail", evidence: "compute-0: health check failing: exit 3: db down" });
    const offline = snapshot([host("compute-0", { availability: "offline" })]);
    expect(evaluateGate("agents", offline, ctx).verdict).to.equal("inconclusive");
    expect(evaluateGate("both", offline, ctx).verdict).to.equal("inconclusive");
    const fine = snapshot([host("compute-0", { health: { configured: true, healthy: true, detail: "" } })]);
    expect(evaluateGate("both", fine, ctx).verdict).to.equal("pass");
  });
});

describe("safer rollouts: the engine", () => {
  it("a budget of 1 where two hosts fail stops after the second failure and not before (serial)", async () => {
    const cluster = new FakeCluster(workers(5));
    cluster.failInstall = new Set(["compute-1", "compute-3"]);
    const { s } = await run(cluster, {}, { maxFailures: "1" });
    expect(installs(cluster)).to.deep.equal(["compute-0", "compute-1", "compute-2", "compute-3"]);
    expect(s.state).to.equal("aborted");
    expect(s.rollout).to.deep.include({ failureBudget: 1, failures: 2, executed: 4, hostsTotal: 5 });
    expect(s.rollout!.stopReason).to.equal("failure budget spent: 2 host(s) failed, budget 1 (4 host(s) finished)");
    expect(s.applyPhase.result).to.equal("failed");
    expect(s.applyPhase.stages[1]!.result).to.equal("success");
    expect(s.applyPhase.stages[1]!.steps[1]!.reason).to.equal("failed on host(s) compute-1 (within the failure budget)");
  });

  it("with no new option, the first failure fails its step and aborts as the reference does", async () => {
    const cluster = new FakeCluster(workers(3));
    cluster.failInstall = new Set(["compute-1"]);
    const { s } = await run(cluster, {}, {});
    expect(installs(cluster)).to.deep.equal(["compute-0", "compute-1"]);
    expect(s.state).to.equal("aborted");
    expect(s.applyPhase.stages[1]!.result).to.equal("failed");
    expect(s.applyPhase.reason).to.equal("software update failed to apply on host compute-1");
  });

  it("--min-executed holds the decision: budget 0, failure on the first host, stops only after three hosts finished", async () => {
    const cluster = new FakeCluster(workers(5));
    cluster.failInstall = new Set(["compute-0"]);
    const { s } = await run(cluster, {}, { minExecuted: 3 });
    expect(installs(cluster)).to.deep.equal(["compute-0", "compute-1", "compute-2"]);
    expect(s.state).to.equal("aborted");
    expect(s.rollout).to.deep.include({ failures: 1, executed: 3 });
  });

  it("a canary that turns unhealthy during its soak stops the strategy before any other host (agents gate, abort)", async () => {
    const cluster = new FakeCluster(workers(4));
    const origInstall = cluster.install.bind(cluster);
    cluster.install = async (h, sig) => {
      const r = await origInstall(h, sig);
      cluster.host(h).health = { configured: true, healthy: false, detail: "exit 1: service down" };
      return r;
    };
    const { s } = await run(cluster, { workerApplyType: "parallel", maxParallelWorkerHosts: 2 }, { canaryHosts: ["compute-2"], soakSeconds: 30, healthGate: "agents" });
    expect(installs(cluster)).to.deep.equal(["compute-2"]);
    expect(s.rollout!.canaryStages).to.equal(1);
    expect(s.applyPhase.stages[0]!.steps.map((x) => x.name)).to.deep.equal(["query-alarms", "sw-patch-hosts", "system-stabilize", "soak"]);
    expect(s.state).to.equal("aborted");
    expect(s.rollout!.stopReason).to.equal("health gate agents failed during the soak: compute-2: health check failing: exit 1: service down");
    expect(s.rollout!.gateVerdicts.at(-1)).to.deep.include({ gate: "agents", verdict: "fail", stageId: 0 });
  });

  it("--canary N takes the first N hosts of the strategy's order into one stage and soaks green", async () => {
    const cluster = new FakeCluster(workers(4));
    const { s } = await run(cluster, {}, { canary: 2, soakSeconds: 5, healthGate: "both" });
    expect(s.state).to.equal("applied");
    expect(s.applyPhase.stages[0]!.steps[1]!.entityNames).to.deep.equal(["compute-0", "compute-1"]);
    expect(s.applyPhase.stages.length).to.equal(3);
    expect(s.rollout!.gateVerdicts.filter((v) => v.verdict !== "pass")).to.deep.equal([]);
    expect(s.rollout).to.deep.include({ executed: 4, failures: 0 });
  });

  it("on-failure rollback: removes the patches and installs the patched hosts back in reverse order, ends rolled-back", async () => {
    const cluster = new RollbackCluster(workers(4));
    cluster.failInstall = new Set(["compute-2"]);
    const { s } = await run(cluster, {}, { onFailure: "rollback" });
    expect(s.state).to.equal("rolled-back");
    expect(s.currentPhase).to.equal("rollback");
    expect(cluster.removed).to.deep.equal(["PATCH_0001"]);
    const afterRemove = cluster.actions.slice(cluster.actions.indexOf("remove PATCH_0001") + 1);
    expect(afterRemove).to.deep.equal(["install compute-2", "install compute-1", "install compute-0"]);
    const rb = s.rollout!.rollbackPhase;
    expect(rb.result).to.equal("success");
    expect(rb.stages.map((x) => x.name)).to.deep.equal(["sw-patch-rollback", "sw-patch-worker-hosts", "sw-patch-worker-hosts", "sw-patch-worker-hosts"]);
    expect(rb.stages[1]!.steps.map((x) => x.name)).to.deep.equal(["sw-patch-hosts", "system-stabilize"]);
    expect(s.rollout!.stopReason).to.equal("software update failed to apply on host compute-2");
  });

  it("rollback of a reboot-required patch locks, installs and unlocks each patched host", async () => {
    const cluster = new RollbackCluster(workers(3).map((h) => (h.personality === "worker" ? { ...h, requiresReboot: true } : h)));
    cluster.failInstall = new Set(["compute-1"]);
    const { s } = await run(cluster, {}, { onFailure: "rollback" });
    expect(s.state).to.equal("rolled-back");
    const afterRemove = cluster.actions.slice(cluster.actions.indexOf("remove PATCH_0001") + 1);
    expect(afterRemove).to.deep.equal(["lock compute-1", "install compute-1", "unlock compute-1", "lock compute-0", "install compute-0", "unlock compute-0"]);
  });

  it("on-failure pause: the budget pauses it; resume accepts the failures so far and a new one pauses it again", async () => {
    const cluster = new FakeCluster(workers(4));
    cluster.failInstall = new Set(["compute-0", "compute-2"]);
    const { orch, s } = await run(cluster, {}, { maxFailures: "0", minExecuted: 1, onFailure: "pause" });
    expect(s.state).to.equal("paused");
    expect(s.rollout!.paused).to.equal(true);
    expect(installs(cluster)).to.deep.equal(["compute-0"]);
    await orch.resume();
    await orch.idle();
    const again = orch.get();
    expect(again.state).to.equal("paused");
    expect(installs(cluster)).to.deep.equal(["compute-0", "compute-1", "compute-2"]);
    cluster.failInstall.clear();
    await orch.resume();
    await orch.idle();
    expect(orch.get().state).to.equal("applied");
    expect(installs(cluster)).to.deep.equal(["compute-0", "compute-1", "compute-2", "compute-3"]);
  });

  it("pause on request stops at the next stage boundary; refused when not applying; abort from paused aborts", async () => {
    const cluster = new FakeCluster(workers(3));
    let release!: () => void;
    cluster.gates.set("compute-0", new Promise<void>((r) => (release = r)));
    const started = new Promise<void>((r) => cluster.installStarted.set("compute-0", r));
    const orch = new Orchestrator({ port: cluster, persistence: createMemoryStrategyPersistence(), timeScale: SCALE, auditIntervalS: 1 });
    await orch.create({}, {});
    await orch.idle();
    try {
      await orch.pause();
      expect.fail("pause of a ready strategy");
    } catch (e) {
      expect((e as DomainError).message).to.equal("pause not allowed while ready-to-apply");
    }
    await orch.apply();
    await started;
    const pausing: Strategy = await orch.pause();
    expect(pausing.state).to.equal("applying");
    expect(pausing.rollout!.paused).to.equal(true);
    release();
    await orch.idle();
    expect(orch.get().state).to.equal("paused");
    expect(installs(cluster)).to.deep.equal(["compute-0"]);
    await orch.abort();
    await orch.idle();
    expect(orch.get().state).to.equal("aborted");
  });

  it("the gate in the background: an alarm raised while a stage runs stops the strategy at the next boundary, even once cleared", async () => {
    const cluster = new FakeCluster(workers(3));
    let release!: () => void;
    cluster.gates.set("compute-0", new Promise<void>((r) => (release = r)));
    const started = new Promise<void>((r) => cluster.installStarted.set("compute-0", r));
    const orch = new Orchestrator({ port: cluster, persistence: createMemoryStrategyPersistence(), timeScale: SCALE, auditIntervalS: 1 });
    await orch.create({}, { healthGate: "both" });
    await orch.idle();
    await orch.apply();
    await started;
    cluster.snap.alarms.push({ uuid: "a1", alarmId: "100.114", entityInstanceId: "host=compute-0", severity: "major", mgmtAffecting: true, raisedAt: new Date() });
    // Wait for the background verdict (every 30 reference seconds, scaled) while compute-0 still installs.
    const ac = new AbortController();
    for await (const x of orch.watch(ac.signal)) if (x?.rollout?.gateVerdicts.some((v) => v.verdict === "fail")) break;
    ac.abort();
    cluster.snap.alarms.length = 0;
    release();
    await orch.idle();
    const s = orch.get();
    expect(s.state).to.equal("aborted");
    expect(s.rollout!.stopReason).to.equal(
      "health gate both failed during stage 0: management-affecting alarm(s) raised since the strategy started: 100.114 (host=compute-0)",
    );
    expect(installs(cluster)).to.deep.equal(["compute-0"]);
  });

  it("a restart during the rollback resumes it from the persisted state", async () => {
    const cluster = new RollbackCluster(workers(3));
    cluster.failInstall = new Set(["compute-1"]);
    const persistence = createMemoryStrategyPersistence();
    const orch = new Orchestrator({ port: cluster, persistence, timeScale: SCALE, auditIntervalS: 1 });
    await orch.create({}, { onFailure: "rollback" });
    await orch.idle();
    let release!: () => void;
    const rollbackInstall = new Promise<void>((r) =>
      cluster.installStarted.set("compute-1", () => {
        if (cluster.removed.length > 0) r();
      }),
    );
    // The apply's install of compute-1 fails at once; the rollback's install of compute-1 waits.
    const origRemove = cluster.removePatches.bind(cluster);
    cluster.removePatches = async (ids) => {
      await origRemove(ids);
      cluster.gates.set("compute-1", new Promise<void>((r) => (release = r)));
    };
    await orch.apply();
    await rollbackInstall;
    expect(orch.get().state).to.equal("rolling-back");
    await orch.close();
    const again = new Orchestrator({ port: cluster, persistence, timeScale: SCALE, auditIntervalS: 1 });
    cluster.gates.delete("compute-1");
    release();
    await again.init();
    await again.idle();
    const s = again.get();
    expect(s.state).to.equal("rolled-back");
    expect(s.rollout!.rollbackPhase.stages.every((x) => x.result === "success")).to.equal(true);
    await again.close();
  });
});
