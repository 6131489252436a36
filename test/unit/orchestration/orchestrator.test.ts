import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Db } from "../../../server/storage/sqlite/db.js";
import { m0001 } from "../../../server/storage/sqlite/migrations/0001-initial.js";
import { m0003 } from "../../../server/storage/sqlite/migrations/0003-strategy.js";
import { EventLog } from "../../../server/domain/events/event-log.js";
import { DomainError } from "../../../server/domain/errors.js";
import { Orchestrator } from "../../../server/domain/orchestration/orchestrator.js";
import { createStoreStrategyPersistence } from "../../../server/storage/sqlite/strategy-store.js";
import { SqliteStore } from "../../../server/storage/sqlite/store.js";
import { createMemoryStrategyPersistence } from "../../lib/memory-strategy-persistence.js";
import type { Strategy } from "../../../server/domain/orchestration/model.js";
import { allowedActions } from "../../../server/domain/orchestration/strategy-actions.js";
import { FakeCluster, defer } from "./fake-cluster.js";
import { aio, host, standard222, vm } from "./fixtures.js";

const SCALE = 0.0002;

function engine(cluster: FakeCluster, timeScale = SCALE, persistence = createMemoryStrategyPersistence()) {
  return { orch: new Orchestrator({ port: cluster, persistence, timeScale, auditIntervalS: 1 }), persistence };
}

async function built(orch: Orchestrator, opts: Parameters<Orchestrator["create"]>[0] = {}): Promise<Strategy> {
  await orch.create(opts);
  await orch.idle();
  return orch.get();
}

async function expectDomainError(p: Promise<unknown>, kind: string, message: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(DomainError);
    expect((e as DomainError).kind).to.equal(kind);
    expect((e as DomainError).message).to.equal(message);
    return;
  }
  expect.fail("expected a rejection");
}

describe("orchestration engine", () => {
  it("builds (building → ready-to-apply) and applies a serial in-service 2+2+2 strategy to applied", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch, persistence } = engine(cluster);
    const created = await orch.create();
    expect(created.state).to.equal("building");
    expect(created.currentPhase).to.equal("build");
    await orch.idle();
    const ready = orch.get();
    expect(ready.state).to.equal("ready-to-apply");
    expect(ready.buildPhase.result).to.equal("success");
    expect(ready.buildPhase.timeout).to.equal(182);
    expect(ready.buildPhase.stages[0]!.timeout).to.equal(181);
    expect(ready.applyPhase.totalStages).to.equal(6);
    expect(ready.applyPhase.timeout).to.equal(0);
    const applying = await orch.apply();
    expect(applying.state).to.equal("applying");
    expect(applying.applyPhase.timeout).to.equal(11347);
    await orch.idle();
    const done = orch.get();
    expect(done.state).to.equal("applied");
    expect(done.applyPhase.result).to.equal("success");
    expect(done.applyPhase.currentStage).to.equal(6);
    expect(done.currentPhaseCompletionPercentage).to.equal(100);
    expect(done.applyPhase.stages.every((s) => s.result === "success" && s.currentStep === s.totalSteps)).to.equal(true);
    expect(cluster.actions).to.deep.equal(["controller-1", "controller-0", "storage-0", "storage-1", "compute-0", "compute-1"].map((h) => `install ${h}`));
    expect(cluster.snap.hosts.every((h) => h.patchCurrent)).to.equal(true);
    const kinds = persistence.events.map((e) => `${e.kind}:${e.newState}`);
    expect(kinds).to.include.members(["strategy.state:building", "strategy.state:ready-to-apply", "strategy.state:applying", "strategy.state:applied"]);
    expect(kinds.filter((k) => k.startsWith("strategy.step")).length).to.be.greaterThan(30);
    expect(cluster.alarmsRaised).to.deep.equal(["apply-inprogress", null]);
  });

  it("applies reboot-required 2+2+2 with parallel workers: swact, lock, install, unlock, timeouts shown unscaled", async () => {
    const cluster = new FakeCluster(standard222({ requiresReboot: true }));
    const { orch } = engine(cluster);
    const s = await built(orch, { workerApplyType: "parallel", maxParallelWorkerHosts: 2 });
    expect(s.applyPhase.stages.map((x) => x.timeout)).to.deep.equal([7876, 7876, 6376, 6376, 4636]);
    expect((await orch.apply()).applyPhase.timeout).to.equal(33141);
    await orch.idle();
    expect(orch.get().state).to.equal("applied");
    expect(cluster.actions).to.deep.equal([
      "lock controller-1",
      "install controller-1",
      "unlock controller-1",
      "swact controller-0",
      "lock controller-0",
      "install controller-0",
      "unlock controller-0",
      "lock storage-0",
      "install storage-0",
      "unlock storage-0",
      "lock storage-1",
      "install storage-1",
      "unlock storage-1",
      "lock compute-0",
      "lock compute-1",
      "install compute-0",
      "install compute-1",
      "unlock compute-0",
      "unlock compute-1",
    ]);
    const swact0 = orch.get().applyPhase.stages[0]!.steps[1]!;
    expect([swact0.name, swact0.result, swact0.reason]).to.deep.equal(["swact-hosts", "success", "Already on correct host"]);
  });

  it("stops and restarts instances around the lock on an AIO simplex", async () => {
    const cluster = new FakeCluster([aio("controller-0", { requiresReboot: true, instances: [vm("vm-a", "controller-0")] })], { singleController: true });
    const { orch } = engine(cluster);
    await built(orch);
    await orch.apply();
    await orch.idle();
    expect(orch.get().state).to.equal("applied");
    expect(cluster.actions).to.deep.equal([
      "stop controller-0 uuid-vm-a",
      "lock controller-0",
      "install controller-0",
      "unlock controller-0",
      "start controller-0 uuid-vm-a",
    ]);
  });

  it("a failing install → apply-failed → automatic abort: unlock compensation, state aborted, apply-reason kept", async () => {
    const cluster = new FakeCluster(standard222({ requiresReboot: true }));
    cluster.failInstall.add("storage-0");
    const { orch, persistence } = engine(cluster);
    await built(orch);
    await orch.apply();
    await orch.idle();
    const s = orch.get();
    expect(s.state).to.equal("aborted");
    expect(s.currentPhase).to.equal("abort");
    expect(s.applyPhase.result).to.equal("failed");
    expect(s.applyPhase.reason).to.equal("software update failed to apply on host storage-0");
    const failedStage = s.applyPhase.stages[2]!;
    expect(failedStage.result).to.equal("failed");
    expect(failedStage.steps.map((x) => x.result)).to.deep.equal(["success", "success", "failed", "initial", "initial", "initial"]);
    expect(s.applyPhase.stages.slice(3).every((x) => x.result === "initial")).to.equal(true);
    expect(s.abortPhase.result).to.equal("success");
    expect(s.abortPhase.stages.map((x) => [x.name, x.steps.map((st) => `${st.name}[${st.entityNames.join(",")}]`)])).to.deep.equal([
      ["sw-patch-storage-hosts", ["unlock-hosts[storage-0]"]],
    ]);
    expect(cluster.host("storage-0").adminState).to.equal("unlocked");
    expect(cluster.actions.slice(-2)).to.deep.equal(["install storage-0", "unlock storage-0"]);
    const states = persistence.events.filter((e) => e.kind === "strategy.state").map((e) => e.newState);
    expect(states.slice(-3)).to.deep.equal(["apply-failed", "aborting", "aborted"]);
    expect(cluster.alarmsRaised).to.deep.equal(["apply-inprogress", "apply-failed"]);
  });

  it("abort mid-apply lets the running step finish, skips the rest of the stage, undoes the lock", async () => {
    const cluster = new FakeCluster(standard222({ requiresReboot: true }));
    const gate = defer();
    const started = defer();
    cluster.gates.set("controller-1", gate.promise);
    cluster.installStarted.set("controller-1", started.resolve);
    const { orch } = engine(cluster, 0.002);
    await built(orch);
    await orch.apply();
    await started.promise;
    await expectDomainError(orch.abort(3), "failed-precondition", "apply not inprogress for stage id 3");
    const aborting = await orch.abort(0);
    expect(aborting.state).to.equal("aborting");
    expect(aborting.currentPhase).to.equal("apply");
    await expectDomainError(orch.apply(), "failed-precondition", "apply not supported during an abort");
    gate.resolve();
    await orch.idle();
    const s = orch.get();
    expect(s.state).to.equal("aborted");
    expect(s.applyPhase.result).to.equal("aborted");
    const stage0 = s.applyPhase.stages[0]!;
    expect(stage0.result).to.equal("aborted");
    expect(stage0.steps.map((x) => x.result)).to.deep.equal(["success", "success", "success", "success", "initial", "initial", "initial"]);
    expect(s.applyPhase.stages.slice(1).every((x) => x.result === "initial")).to.equal(true);
    expect(s.abortPhase.stages[0]!.steps.map((x) => x.name)).to.deep.equal(["unlock-hosts"]);
    expect(s.abortPhase.result).to.equal("success");
    expect(cluster.actions).to.deep.equal(["lock controller-1", "install controller-1", "unlock controller-1"]);
    await expectDomainError(orch.abort(), "failed-precondition", "apply not inprogress");
  });

  it("applies up to a stage, then the next stage, and aborts a paused strategy without compensation", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch } = engine(cluster);
    await built(orch);
    await expectDomainError(orch.apply(1), "failed-precondition", "stage id 1 is not the next stage to be applied, next-stage = 0");
    await expectDomainError(orch.apply(9), "failed-precondition", "invalid stage id 9 for the apply, total-stages are 6");
    const first = await orch.apply(0);
    expect(first.applyPhase.stopAtStage).to.equal(1);
    expect(first.applyPhase.timeout).to.equal(1892);
    await orch.idle();
    let s = orch.get();
    expect(s.state).to.equal("applying");
    expect(s.applyPhase.inprogress).to.equal(true);
    expect(s.applyPhase.currentStage).to.equal(1);
    expect(s.applyPhase.completionPercentage).to.equal(16); // 3 of 18 steps
    await expectDomainError(orch.apply(0), "failed-precondition", "apply already complete for stage id 0");
    await orch.apply(1);
    await orch.idle();
    s = orch.get();
    expect(s.applyPhase.currentStage).to.equal(2);
    expect(cluster.actions).to.deep.equal(["install controller-1", "install controller-0"]);
    const aborted = await orch.abort();
    expect(aborted.state).to.equal("aborted");
    expect(aborted.currentPhase).to.equal("abort");
    expect(aborted.abortPhase.totalStages).to.equal(0);
    expect(aborted.applyPhase.result).to.equal("aborted");
    await expectDomainError(orch.apply(), "failed-precondition", "apply not supported during an abort");
    await orch.delete();
    expect(orch.current()).to.equal(undefined);
  });

  it("apply-all from a paused apply-stage runs the remaining stages", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch } = engine(cluster);
    await built(orch);
    await orch.apply(0);
    await orch.idle();
    await orch.apply();
    await orch.idle();
    expect(orch.get().state).to.equal("applied");
    expect(cluster.actions).to.have.length(6);
  });

  it("a step timeout → apply-timeout → aborted with apply-result timed-out (time scaled)", async () => {
    const cluster = new FakeCluster(standard222({ requiresReboot: true }));
    const { orch } = engine(cluster);
    await built(orch);
    // An alarm raised after the build, never cleared: wait-alarms-clear times out.
    const started = defer();
    cluster.installStarted.set("controller-1", () => {
      cluster.snap.alarms.push({ uuid: "x", alarmId: "100.101", entityInstanceId: "host=controller-1", severity: "major", mgmtAffecting: true, raisedAt: new Date() });
      started.resolve();
    });
    await orch.apply();
    await orch.idle();
    const s = orch.get();
    expect(s.state).to.equal("aborted");
    expect(s.applyPhase.result).to.equal("timed-out");
    const stage0 = s.applyPhase.stages[0]!;
    expect(stage0.steps[6]!.name).to.equal("wait-alarms-clear");
    expect(stage0.steps[6]!.result).to.equal("timed-out");
    expect(stage0.steps[6]!.timeout).to.equal(2400);
    expect(s.abortPhase.stages[0]!.steps.map((x) => x.name)).to.deep.equal(["unlock-hosts"]);
  });

  it("query-alarms at a stage start fails the stage with the alarm ids", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch } = engine(cluster);
    await built(orch);
    cluster.snap.alarms.push({ uuid: "x", alarmId: "100.101", entityInstanceId: "host=controller-1", severity: "major", mgmtAffecting: true, raisedAt: new Date() });
    await orch.apply();
    await orch.idle();
    const s = orch.get();
    expect(s.applyPhase.reason).to.equal("alarms ['100.101'] from platform are present");
    expect(s.state).to.equal("aborted");
    expect(s.abortPhase.totalStages).to.equal(0);
  });

  it("a waiting step says what it waits for and when it times out; both go when it ends", async () => {
    const cluster = new FakeCluster(standard222({ requiresReboot: true }));
    const { orch } = engine(cluster);
    await built(orch);
    const started = defer();
    cluster.installStarted.set("controller-1", started.resolve);
    await orch.apply(0);
    await started.promise;
    // Raised after the stage's query-alarms: the stage's wait-alarms-clear waits for it.
    cluster.snap.alarms.push({ uuid: "x", alarmId: "100.101", entityInstanceId: "host=controller-1", severity: "major", mgmtAffecting: true, raisedAt: new Date() });
    const waiting = async () => {
      for (let i = 0; i < 2000; i++) {
        const step = orch.get().applyPhase.stages[0]!.steps.find((st) => st.name === "wait-alarms-clear")!;
        if (step.result === "wait" && step.reason) return step;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error("wait-alarms-clear never reported its wait");
    };
    const step = await waiting();
    expect(step.reason).to.equal("waiting for alarms to clear: 100.101 (host=controller-1)");
    expect(Date.parse(step.deadline!)).to.be.above(Date.parse(step.startDate));
    cluster.snap.alarms.length = 0;
    await orch.idle();
    const done = orch.get().applyPhase.stages[0]!.steps.find((st) => st.name === "wait-alarms-clear")!;
    expect(done).to.deep.include({ result: "success", reason: "" });
    expect(done.deadline).to.equal(undefined);
  });

  it("the state decides which actions a view offers (the same rules refuse them)", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch } = engine(cluster);
    const ready = await built(orch);
    expect(allowedActions(ready)).to.deep.equal({ apply: true, abort: false, delete: true });
    await orch.apply();
    await orch.idle();
    expect(allowedActions(orch.get())).to.deep.equal({ apply: false, abort: false, delete: true });
    const building = await (async () => {
      await orch.delete();
      return orch.create();
    })();
    expect(allowedActions(building)).to.deep.equal({ apply: false, abort: false, delete: false });
    await orch.idle();
  });

  it("lock-hosts refuses hosts with running instances", async () => {
    const hosts = standard222({ requiresReboot: true });
    const cluster = new FakeCluster(hosts);
    const { orch } = engine(cluster);
    await built(orch, { controllerApplyType: "ignore", storageApplyType: "ignore" });
    cluster.host("compute-0").instances.push(vm("vm-late", "compute-0"));
    await orch.apply();
    await orch.idle();
    expect(orch.get().applyPhase.reason).to.equal("Lock of host(s) compute-0 failed because instance(s) vm-late were not migrated or stopped.");
  });

  it("build failures: reason in build-reason, apply rejected with it", async () => {
    const hosts = standard222();
    hosts[0] = { ...hosts[0]!, interim: true };
    const { orch } = engine(new FakeCluster(hosts));
    const s = await built(orch);
    expect(s.state).to.equal("build-failed");
    expect(s.buildPhase.result).to.equal("failed");
    expect(s.buildPhase.reason).to.equal("at least one host is in pending patch current state");
    await expectDomainError(orch.apply(), "failed-precondition", "at least one host is in pending patch current state");
    await orch.delete();
  });

  it("one strategy at a time; delete refused while applying unless forced; NOT_FOUND when none", async () => {
    const cluster = new FakeCluster(standard222({ requiresReboot: true }));
    const gate = defer();
    const started = defer();
    cluster.gates.set("controller-1", gate.promise);
    cluster.installStarted.set("controller-1", started.resolve);
    const { orch } = engine(cluster, 0.002);
    await expectDomainError(orch.apply(), "not-found", "No strategy available");
    await built(orch);
    await expectDomainError(orch.create(), "already-exists", "strategy already exists of type:sw-patch");
    await orch.apply();
    await started.promise;
    await expectDomainError(orch.delete(), "failed-precondition", "strategy delete not allowed while applying");
    await orch.delete(true);
    expect(orch.current()).to.equal(undefined);
    await expectDomainError(orch.delete(), "not-found", "No strategy available");
    await expectDomainError(orch.create({ maxParallelWorkerHosts: 101 }), "invalid-argument", "Invalid value for max-parallel-worker-hosts");
    gate.resolve();
  });

  it("watch yields the current strategy, then a snapshot per change", async () => {
    const cluster = new FakeCluster(standard222());
    const { orch } = engine(cluster);
    const ac = new AbortController();
    const seen: (string | undefined)[] = [];
    const it = orch.watch(ac.signal);
    const first = await it.next();
    expect(first.value).to.equal(undefined);
    await orch.create();
    await orch.idle();
    await orch.apply();
    for (;;) {
      const n = await it.next();
      seen.push(n.value?.state);
      if (n.value?.state === "applied") break;
    }
    ac.abort();
    expect(seen[0]).to.equal("building");
    expect(seen).to.include("ready-to-apply");
    expect(seen).to.include("applying");
    expect(seen.length).to.be.greaterThan(20);
  });

  describe("restart", () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "swpatch-orch-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    async function openDb() {
      const db = await Db.open(join(dir, "db.sqlite"), [m0001, m0003]);
      const store = new SqliteStore(db);
      const events = new EventLog(store.read);
      await events.init();
      return { db, events, persistence: createStoreStrategyPersistence({ store, events }) };
    }

    it("resumes an applying strategy from the persisted JSON at the current step", async () => {
      const cluster = new FakeCluster(standard222({ requiresReboot: true }));
      const started = defer();
      cluster.gates.set("storage-0", new Promise<void>(() => undefined)); // never finishes in the first life
      cluster.installStarted.set("storage-0", started.resolve);
      const a = await openDb();
      const orch1 = new Orchestrator({ port: cluster, persistence: a.persistence, timeScale: SCALE, auditIntervalS: 1 });
      await orch1.init();
      await orch1.create();
      await orch1.idle();
      await orch1.apply();
      await started.promise;
      await orch1.close();
      await a.db.close();

      const row = await (async () => {
        const b = await openDb();
        const r = await b.db.read.get<{ state: string; json: string }>("SELECT state, json FROM strategy");
        const ev = await b.db.read.all<{ kind: string }>("SELECT kind FROM events WHERE kind LIKE 'strategy.%'");
        await b.db.close();
        return { ...r!, events: ev.length };
      })();
      expect(row.state).to.equal("applying");
      expect(row.events).to.be.greaterThan(10);
      const persisted = JSON.parse(row.json) as Strategy;
      expect(persisted.applyPhase.currentStage).to.equal(2);
      expect(persisted.applyPhase.stages[2]!.steps[2]!.result).to.equal("wait");

      cluster.gates.delete("storage-0");
      const b = await openDb();
      const orch2 = new Orchestrator({ port: cluster, persistence: b.persistence, timeScale: SCALE, auditIntervalS: 1 });
      await orch2.init();
      await orch2.idle();
      const s = orch2.get();
      expect(s.state).to.equal("applied");
      expect(s.uuid).to.equal(persisted.uuid);
      expect(cluster.actions.filter((x) => x === "install storage-0")).to.have.length(2);
      expect(cluster.actions.filter((x) => x === "lock controller-0")).to.have.length(1);
      await orch2.close();
      await b.db.close();
    });

    it("re-runs an interrupted build after a restart", async () => {
      const a = await openDb();
      const cluster = new FakeCluster([host("controller-0"), host("controller-1")]);
      const orch1 = new Orchestrator({ port: cluster, persistence: a.persistence, timeScale: SCALE });
      await orch1.init();
      await orch1.create();
      await orch1.close(); // stops before (or while) building
      await a.db.close();
      const b = await openDb();
      const orch2 = new Orchestrator({ port: cluster, persistence: b.persistence, timeScale: SCALE });
      await orch2.init();
      await orch2.idle();
      expect(orch2.get().state).to.equal("ready-to-apply");
      await orch2.close();
      await b.db.close();
    });
  });
});
