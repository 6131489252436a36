/**
 * Whether the strategy's state allows an action, and the reference's words when it does not. Pure:
 * the orchestrator refuses with these reasons, and views offer only the actions they allow.
 */
import type { Strategy, StrategyState } from "./model.js";

/** States in which a strategy may not be deleted without `force`. */
export const RUNNING_STATES: ReadonlySet<StrategyState> = new Set(["building", "applying", "aborting", "rolling-back"]);

/** Why `apply` (all stages, or `stageId` only) is refused now; undefined when it is allowed. */
export function applyRejection(s: Strategy, stageId?: number): string | undefined {
  const phase = s.applyPhase;
  if (s.buildPhase.result !== "success" || s.state.startsWith("build")) return s.buildPhase.reason || "build not complete";
  if (s.currentPhase === "abort" || s.state === "aborting") return "apply not supported during an abort";
  if (s.state === "paused") return "strategy paused: resume it"; // ROLLOUT (issue 20)
  if (["success", "degraded", "failed", "timed-out", "aborted"].includes(phase.result) || (s.state !== "ready-to-apply" && s.state !== "applying")) {
    return "apply already completed";
  }
  if (stageId !== undefined && (!Number.isInteger(stageId) || stageId < 0 || stageId >= phase.totalStages)) {
    return `invalid stage id ${stageId} for the apply, total-stages are ${phase.totalStages}`;
  }
  if (s.state === "applying" && phase.currentStage < phase.stopAtStage) return "apply already inprogress";
  if (stageId !== undefined) {
    if (stageId < phase.currentStage) return `apply already complete for stage id ${stageId}`;
    if (stageId > phase.currentStage) return `stage id ${stageId} is not the next stage to be applied, next-stage = ${phase.currentStage}`;
  }
  return undefined;
}

/** Why `abort` (all, or only while `stageId` runs) is refused now; undefined when it is allowed. */
export function abortRejection(s: Strategy, stageId?: number): string | undefined {
  const phase = s.applyPhase;
  if (s.currentPhase !== "apply" || !["applying", "apply-failed", "apply-timeout", "paused"].includes(s.state)) {
    return stageId === undefined ? "apply not inprogress" : `apply not inprogress for stage id ${stageId}`;
  }
  const running = s.state === "applying" && phase.currentStage < phase.stopAtStage;
  if (stageId !== undefined && (!running || stageId !== phase.currentStage)) return `apply not inprogress for stage id ${stageId}`;
  return undefined;
}

/** Why `delete` is refused now (only without `force`, while something runs). */
export function deleteRejection(s: Strategy, force = false): string | undefined {
  return RUNNING_STATES.has(s.state) && !force ? `strategy delete not allowed while ${s.state}` : undefined;
}

/** The actions the state allows on the whole strategy (for views that offer them). */
export function allowedActions(s: Strategy): { apply: boolean; abort: boolean; delete: boolean } {
  return { apply: applyRejection(s) === undefined, abort: abortRejection(s) === undefined, delete: deleteRejection(s) === undefined };
}
