import { expect } from "chai";
import { Strategy, type StrategyPhase } from "../../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { fieldLine, renderStrategy } from "../../../clients/cli/sw-manager/render/strategy-show.js";

const t0 = new Date(2024, 6, 1, 10, 0, 0);
const t5 = new Date(2024, 6, 1, 10, 0, 5);

function phase(name: string, over: Partial<StrategyPhase> = {}): StrategyPhase {
  return {
    name,
    state: "",
    result: "initial",
    reason: "",
    timeout: 0,
    startDate: undefined,
    endDate: undefined,
    currentStage: 0,
    totalStages: 0,
    stopAtStage: 0,
    completionPercentage: 100,
    inprogress: false,
    stages: [],
    ...over,
  };
}

const buildPhase = phase("build", {
  result: "success",
  timeout: 182,
  startDate: t0,
  endDate: t5,
  currentStage: 1,
  totalStages: 1,
  stopAtStage: 1,
  stages: [
    {
      stageId: 0,
      name: "sw-patch-query",
      state: "complete",
      result: "success",
      reason: "",
      timeout: 181,
      startDate: t0,
      endDate: t5,
      currentStep: 3,
      totalSteps: 3,
      inprogress: false,
      steps: [
        {
          stepId: 0,
          name: "query-alarms",
          entityType: "",
          entityNames: [],
          entityUuids: [],
          state: "complete",
          result: "success",
          reason: "",
          timeout: 60,
          startDate: t0,
          endDate: t0,
        },
        {
          stepId: 1,
          name: "query-sw-patches",
          entityType: "",
          entityNames: [],
          entityUuids: [],
          state: "complete",
          result: "success",
          reason: "",
          timeout: 60,
          startDate: undefined,
          endDate: undefined,
        },
        {
          stepId: 2,
          name: "sw-patch-hosts",
          entityType: "hosts",
          entityNames: ["controller-1"],
          entityUuids: ["77f0"],
          state: "complete",
          result: "success",
          reason: "",
          timeout: 1800,
          startDate: t0,
          endDate: t5,
        },
      ],
    },
  ],
});

const strategy: Strategy = Strategy.fromPartial({
  uuid: "5435e049-7002-4403-acfb-7886f6da14af",
  name: "sw-patch",
  controllerApplyType: "serial",
  storageApplyType: "serial",
  workerApplyType: "parallel",
  swiftApplyType: "ignore",
  maxParallelWorkerHosts: 2,
  defaultInstanceAction: "stop-start",
  alarmRestrictions: "strict",
  state: "ready-to-apply",
  currentPhase: "build",
  currentPhaseCompletionPercentage: 100,
  buildPhase,
  applyPhase: phase("apply"),
  abortPhase: phase("abort"),
});

const SUMMARY = `Strategy Patch Strategy:
  strategy-uuid:                          5435e049-7002-4403-acfb-7886f6da14af
  controller-apply-type:                  serial
  storage-apply-type:                     serial
  worker-apply-type:                      parallel
  max-parallel-worker-hosts:              2
  default-instance-action:                stop-start
  alarm-restrictions:                     strict
  current-phase:                          build
  current-phase-completion:               100%
  state:                                  ready-to-apply
`;

describe("sw-manager patch-strategy show layout (spec §2.5)", () => {
  it("puts every value at column 42, empty values leave the padding", () => {
    expect(fieldLine(2, "build-reason", "")).to.equal("  build-reason:" + " ".repeat(27) + "\n");
    expect(fieldLine(12, "step-id", 0).indexOf("0")).to.equal(42);
    expect(fieldLine(2, "reason", "a\nb")).to.equal("  reason: |\n    a\n    b\n");
  });

  it("prints the summary with the build result block", () => {
    expect(renderStrategy(strategy)).to.equal(SUMMARY + "  build-result:                           success\n  build-reason:                           \n");
  });

  it("adds build-error-response with --error-details and hides max-parallel for serial workers", () => {
    const out = renderStrategy({ ...strategy, workerApplyType: "serial" }, { errorDetails: true });
    expect(out).to.not.include("max-parallel-worker-hosts");
    expect(out.endsWith("  build-error-response:                   \n")).to.equal(true);
  });

  it("prints inprogress: true while building", () => {
    const s = { ...strategy, state: "building", buildPhase: { ...buildPhase, inprogress: true } };
    expect(renderStrategy(s).endsWith("  state:                                  building\n  inprogress:                             true\n")).to.equal(true);
  });

  it("prints apply and abort result blocks", () => {
    const s: Strategy = {
      ...strategy,
      state: "aborted",
      currentPhase: "abort",
      applyPhase: phase("apply", { totalStages: 2, result: "failed", reason: "software update failed to apply on host compute-0" }),
      abortPhase: phase("abort", { result: "success" }),
    };
    expect(renderStrategy(s).split("\n").slice(11).join("\n")).to.equal(
      [
        "  apply-result:                           failed",
        "  apply-reason:                           software update failed to apply on host compute-0",
        "  abort-result:                           success",
        "  abort-reason:                           ",
        "",
      ].join("\n"),
    );
  });

  it("--details prints each phase with stages and steps, exactly", () => {
    const expected =
      SUMMARY +
      `  build-phase:
    total-stages:                         1
    current-stage:                        1
    stop-at-stage:                        1
    timeout:                              182 seconds
    completion-percentage:                100%
    start-date-time:                      2024-07-01 10:00:00
    end-date-time:                        2024-07-01 10:00:05
    result:                               success
    reason:                               
    stages:
        stage-id:                         0
        stage-name:                       sw-patch-query
        total-steps:                      3
        current-step:                     3
        timeout:                          181 seconds
        start-date-time:                  2024-07-01 10:00:00
        end-date-time:                    2024-07-01 10:00:05
        result:                           success
        reason:                           
        steps:
            step-id:                      0
            step-name:                    query-alarms
            timeout:                      60 seconds
            start-date-time:              2024-07-01 10:00:00
            end-date-time:                2024-07-01 10:00:00
            result:                       success
            reason:                       

            step-id:                      1
            step-name:                    query-sw-patches
            timeout:                      60 seconds
            result:                       success
            reason:                       

            step-id:                      2
            step-name:                    sw-patch-hosts
            entity-type:                  hosts
            entity-names:                 ['controller-1']
            entity-uuids:                 ['77f0']
            timeout:                      1800 seconds
            start-date-time:              2024-07-01 10:00:00
            end-date-time:                2024-07-01 10:00:05
            result:                       success
            reason:                       


`;
    expect(renderStrategy(strategy, { details: true })).to.equal(expected);
  });

  it("--active shows only the running phase, stage and non-initial/non-success steps", () => {
    const running = structuredClone(buildPhase);
    running.inprogress = true;
    running.stages[0]!.inprogress = true;
    running.stages[0]!.steps[2]!.result = "wait";
    running.stages[0]!.steps[2]!.endDate = undefined;
    const out = renderStrategy({ ...strategy, state: "building", buildPhase: running }, { active: true });
    expect(out).to.include("    inprogress:                           true\n");
    expect(out).to.include("            step-name:                    sw-patch-hosts\n");
    expect(out).to.not.include("query-alarms");
    expect(out).to.include("            result:                       wait\n");
  });

  it("ROLLOUT: prints nothing new for a reference strategy, and the budget, canary, gate and rollback lines after the reference's for a safer one", () => {
    expect(renderStrategy(strategy)).to.not.match(/max-failures|health-gate|on-failure/);
    const safer = Strategy.fromPartial({
      ...strategy,
      state: "rolled-back",
      currentPhase: "rollback",
      maxFailures: "1",
      failureBudget: 1,
      failures: 2,
      executed: 3,
      hostsTotal: 4,
      canaryHosts: ["compute-3"],
      canaryStages: 1,
      soakSeconds: 600,
      healthGate: "agents",
      onFailure: "rollback",
      stopReason: "failure budget spent",
      gateVerdicts: [{ at: new Date(2026, 11, 3, 10, 0, 0), gate: "agents", verdict: "fail", evidence: "compute-3: health check failing", stageId: 0 }],
      rollbackPhase: { ...phase("rollback"), result: "success", reason: "" },
    });
    const out = renderStrategy(safer);
    expect(
      out.startsWith(
        renderStrategy({ ...safer, maxFailures: "", canaryHosts: [], healthGate: "", onFailure: "", state: "applied", currentPhase: "apply" }).split(
          "  current-phase:",
        )[0]!,
      ),
    ).to.equal(true);
    expect(out).to.include(fieldLine(2, "max-failures", "1") + fieldLine(2, "failure-budget", "2 of 1 spent, 0 left") + fieldLine(2, "hosts-finished", "3 of 4"));
    expect(out).to.include(fieldLine(2, "canary-hosts", "['compute-3']") + fieldLine(2, "canary-stages", "1") + fieldLine(2, "soak", "600 seconds"));
    expect(out).to.include(fieldLine(2, "health-gate", "agents") + fieldLine(2, "on-failure", "rollback") + fieldLine(2, "stop-reason", "failure budget spent"));
    expect(out).to.include("  gate-verdicts:\n" + fieldLine(4, "2026-12-03 10:00:00 stage 0 agents", "fail: compute-3: health check failing"));
    expect(out).to.include(fieldLine(2, "rollback-result", "success"));
  });
});
