import { expect } from "chai";
import { newPhase, newStage, newStep, type Strategy } from "../../../server/domain/orchestration/model.js";
import { newStrategy } from "../../../server/domain/orchestration/phases.js";
import { DEFAULT_OPTIONS } from "../../../server/domain/orchestration/model.js";
import { newRolloutState, normalizeRolloutOptions } from "../../../server/domain/orchestration/rollout-options.js";
import { strategyView } from "../../../server/transport/web/views.js";

describe("console strategy view: plan and rollout blocks (issue 20)", () => {
  const base = (): Strategy => {
    const s = newStrategy("5435e049-7002-4403-acfb-7886f6da14af", { ...DEFAULT_OPTIONS });
    s.state = "applying";
    s.planHash = "ab".repeat(32);
    s.windows = ["Sat,Sun 02:00-06:00"];
    s.windowTz = "Europe/Berlin";
    s.cutoffMinutes = 30;
    s.windowState = "waiting for window Sat 02:00 Europe/Berlin";
    s.nextWindowStart = "2026-12-05T01:00:00.000Z";
    return s;
  };

  it("shows the plan hash and the window state; no rollout block without ROLLOUT's fields", () => {
    const v = strategyView(base())!;
    expect(v.plan).to.deep.equal({
      planHash: "ab".repeat(32),
      windows: ["Sat,Sun 02:00-06:00"],
      windowTz: "Europe/Berlin",
      cutoffMinutes: 30,
      windowState: "waiting for window Sat 02:00 Europe/Berlin",
      nextWindowStart: "2026-12-05T01:00:00.000Z",
    });
    expect(v.rollout).to.equal(null);
    // A window state is only shown while the strategy runs.
    const done = base();
    done.state = "applied";
    expect(strategyView(done)!.plan.windowState).to.equal("");
  });

  it("shows the budget spent and left, the canary, gate verdicts with evidence and a rollback phase (ROLLOUT's fields)", () => {
    const s = base();
    const rollback = newPhase("rollback" as never, [newStage("sw-patch-worker-hosts", [newStep("sw-patch-hosts", { hosts: [{ hostname: "compute-0", uuid: "u0" }] })])]);
    s.state = "rolling-back" as Strategy["state"];
    s.rollout = {
      ...newRolloutState(
        normalizeRolloutOptions({ maxFailures: "10%", minExecuted: 2, canaryHosts: ["compute-0"], soakSeconds: 300, healthGate: "both", onFailure: "rollback" }),
      ),
      failureBudget: 2,
      failures: 3,
      executed: 7,
      stopReason: "error budget spent: 3 failures > 2",
      gateVerdicts: [{ at: "2026-12-03T10:00:00.000Z", gate: "agents", verdict: "fail", evidence: "compute-0: health check exit 1", stageId: 0 }],
      rollbackPhase: rollback,
    };
    const r = strategyView(s)!.rollout!;
    expect(r).to.deep.include({ failureBudget: 2, failures: 3, budgetLeft: 0, executed: 7, soakSeconds: 300, healthGate: "both", onFailure: "rollback" });
    expect(r.canaryHosts).to.deep.equal(["compute-0"]);
    expect(r.gateVerdicts).to.deep.equal([{ at: "2026-12-03T10:00:00.000Z", gate: "agents", verdict: "fail", evidence: "compute-0: health check exit 1", stageId: 0 }]);
    expect(r.stopReason).to.equal("error budget spent: 3 failures > 2");
    expect(r.rollbackPhase!.stages[0]!.steps[0]!.entityNames).to.deep.equal(["compute-0"]);
  });
});
