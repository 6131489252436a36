/** Building and closing strategy phases: the build phase, the abort phase (§11), a phase's end. */
import { newPhase, newStage, newStep, phaseTimeout, type Strategy, type StrategyOptions, type StrategyPhase, type StrategyResult, type StrategyStep } from "./model.js";

/** Now, as the ISO string the strategy's dates use. */
export const now = () => new Date().toISOString();

/** A new strategy `uuid` with `opts`, building (its build phase in progress). */
export function newStrategy(uuid: string, opts: StrategyOptions): Strategy {
  return {
    version: 1,
    uuid,
    name: "sw-patch",
    ...opts,
    state: "building",
    currentPhase: "build",
    currentPhaseCompletionPercentage: 0,
    buildPhase: freshBuildPhase(),
    applyPhase: newPhase("apply"),
    abortPhase: newPhase("abort"),
  };
}

/** A new build phase (three query steps), in progress. */
export function freshBuildPhase(): StrategyPhase {
  const stage = newStage("sw-patch-query", [newStep("query-alarms"), newStep("query-sw-patches"), newStep("query-sw-patch-hosts")]);
  const phase = newPhase("build", [stage]);
  phase.stopAtStage = 1;
  phase.timeout = phaseTimeout(phase, 0, 1);
  phase.inprogress = true;
  phase.result = "inprogress";
  phase.startDate = now();
  return phase;
}

/** Ends `phase` with `result` and `reason`. */
export function finishPhase(phase: StrategyPhase, result: StrategyResult, reason: string): void {
  phase.inprogress = false;
  phase.result = result;
  phase.reason = reason;
  phase.endDate = now();
}

/**
 * Builds the abort phase from the stage that was running (§11) and makes it current (the caller
 * persists): walking its steps from the current one back to the first, lock-hosts → unlock-hosts,
 * stop-instances → start-instances, disable-host-services → enable-host-services. An apply phase
 * still in progress (aborted before the runner reached a step boundary, e.g. after a restart) ends
 * `aborted` first.
 */
export function startAbortPhase(s: Strategy): void {
  const apply = s.applyPhase;
  if (apply.inprogress) {
    const stage = apply.stages[apply.currentStage];
    if (stage && stage.inprogress) {
      stage.inprogress = false;
      stage.result = "aborted";
      stage.endDate = now();
    }
    finishPhase(apply, "aborted", "");
  }
  const undo: StrategyStep[] = [];
  const stage = apply.stages[apply.currentStage];
  if (stage) {
    for (let i = Math.min(stage.currentStep, stage.totalSteps - 1); i >= 0; i--) {
      const st = stage.steps[i]!;
      if (st.result === "initial") continue;
      const hosts = st.hosts.map((h, k) => ({ hostname: h, uuid: st.entityType === "hosts" ? (st.entityUuids[k] ?? "") : "" }));
      if (st.name === "lock-hosts") undo.push(newStep("unlock-hosts", { hosts }));
      else if (st.name === "stop-instances") undo.push(newStep("start-instances", { instances: st.instances ?? [] }));
      else if (st.name === "disable-host-services") undo.push(newStep("enable-host-services", { hosts }));
    }
  }
  const phase = newPhase("abort", undo.length > 0 ? [newStage(stage!.name, undo)] : []);
  phase.stopAtStage = phase.totalStages;
  phase.timeout = phaseTimeout(phase, 0, phase.totalStages);
  phase.inprogress = true;
  phase.result = "inprogress";
  phase.startDate = now();
  s.abortPhase = phase;
  s.currentPhase = "abort";
}
