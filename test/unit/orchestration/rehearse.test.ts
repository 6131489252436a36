import { expect } from "chai";
import { DomainError } from "../../../server/domain/errors.js";
import { Orchestrator } from "../../../server/domain/orchestration/orchestrator.js";
import { budgetExhausted } from "../../../server/domain/orchestration/rehearse-budget.js";
import { createMemoryStrategyPersistence } from "../../lib/memory-strategy-persistence.js";
import { FakeCluster } from "./fake-cluster.js";
import { host } from "./fixtures.js";

function cluster(): FakeCluster {
  return new FakeCluster([
    host("controller-0", { patchCurrent: true }),
    host("controller-1", { patchCurrent: true }),
    ...["compute-0", "compute-1", "compute-2", "compute-3"].map((h) => host(h, { requiresReboot: h === "compute-3" })),
  ]);
}

describe("rehearsal (issue 20)", () => {
  it("runs the built strategy on simulated copies: durations, failures, where the budget runs out; no real host touched", async () => {
    const real = cluster();
    const persistence = createMemoryStrategyPersistence();
    const orch = new Orchestrator({ port: real, persistence, timeScale: 0.0002, auditIntervalS: 1 });
    await orch.create();
    await orch.idle();
    const before = { strategy: persistence.json, events: persistence.events.length, snap: JSON.stringify(real.snap) };
    const clean = await orch.rehearse({ failRate: 0, runs: 5, seed: 7 });
    expect(clean).to.deep.include({ runs: 5, hosts: 4, stages: 4, failures: 0, runsWithFailures: 0, budgetExhaustedRuns: 0, failureBudget: 0, onFailure: "abort" });
    expect(clean.outcomes).to.deep.equal([{ state: "applied", runs: 5 }]);
    // Four serial stages; the reboot stage alone takes its lock, reboot and settle: minutes of simulated time.
    expect(clean.meanDurationS).to.be.greaterThan(600);
    expect(clean.minDurationS).to.be.at.most(clean.meanDurationS);
    const faulty = await orch.rehearse({ failRate: 0.5, runs: 40, seed: 11 });
    expect(faulty.failures).to.be.greaterThan(0);
    expect(faulty.runsWithFailures).to.equal(faulty.budgetExhaustedRuns); // budget 0: the first failure spends it
    expect(faulty.budgetExhaustedStages.reduce((n, x) => n + x.runs, 0)).to.equal(faulty.budgetExhaustedRuns);
    expect(faulty.budgetExhaustedStages[0]).to.deep.include({ stageId: 0, stageName: "sw-patch-worker-hosts" });
    expect(faulty.outcomes.map((o) => o.state).sort()).to.deep.equal(["aborted", "applied"]);
    expect(faulty.onFailureEffect).to.match(/^abort: /);
    // Seeded: the same seed gives the same report.
    expect(await orch.rehearse({ failRate: 0.5, runs: 40, seed: 11 })).to.deep.equal(faulty);
    // Nothing real happened.
    expect(real.actions).to.deep.equal([]);
    expect(JSON.stringify(real.snap)).to.equal(before.snap);
    expect(persistence.json).to.equal(before.strategy);
    expect(persistence.events.length).to.equal(before.events);
    expect(orch.get().state).to.equal("ready-to-apply");
    await orch.close();
  });

  it("refuses bad arguments and an unbuilt strategy", async () => {
    const orch = new Orchestrator({ port: cluster(), persistence: createMemoryStrategyPersistence(), timeScale: 0.0002, auditIntervalS: 1 });
    await orch.create({ controllerApplyType: "parallel" }); // the build fails
    await orch.idle();
    for (const [opts, kind] of [
      [{ failRate: 1.5 }, "invalid-argument"],
      [{ failRate: 0.1, runs: 5000 }, "invalid-argument"],
      [{ failRate: 0.1 }, "failed-precondition"],
    ] as const) {
      try {
        await orch.rehearse(opts);
        expect.fail("expected a refusal");
      } catch (e) {
        expect((e as DomainError).kind).to.equal(kind);
      }
    }
    await orch.close();
  });

  it("stops between runs when the caller goes away (cancelled call)", async () => {
    const orch = new Orchestrator({ port: cluster(), persistence: createMemoryStrategyPersistence(), timeScale: 0.0002, auditIntervalS: 1 });
    await orch.create();
    await orch.idle();
    const ac = new AbortController();
    ac.abort();
    try {
      await orch.rehearse({ failRate: 0, runs: 1000, signal: ac.signal });
      expect.fail("expected an AbortError");
    } catch (e) {
      expect((e as Error).name).to.equal("AbortError");
    }
    await orch.close();
  });

  it("budget stand-in: no decision before min-executed, exhausted beyond the budget", () => {
    expect(budgetExhausted({ failures: 1, executed: 1, budget: 0, minExecuted: 0 })).to.equal(true);
    expect(budgetExhausted({ failures: 1, executed: 1, budget: 1, minExecuted: 0 })).to.equal(false);
    expect(budgetExhausted({ failures: 2, executed: 2, budget: 1, minExecuted: 3 })).to.equal(false);
    expect(budgetExhausted({ failures: 2, executed: 3, budget: 1, minExecuted: 3 })).to.equal(true);
  });
});
