/**
 * ROLLOUT (issue 20): `sw-manager patch-strategy pause|resume`. Pure: whether the state allows it,
 * and the change (the orchestrator persists it and wakes the runner).
 */
import type { NewEvent } from "../events/event-log.js";
import { DEFAULT_ROLLOUT, newRolloutState } from "./rollout-options.js";
import type { Strategy } from "./model.js";
import { stateEvent } from "./strategy-events.js";

/** Why pause is refused now; undefined when allowed. */
export function pauseRejection(s: Strategy): string | undefined {
  if (s.state !== "applying") return `pause not allowed while ${s.state}`;
  if (s.abortRequested) return "pause not allowed during an abort";
  if (s.rollout?.paused) return "strategy already pausing";
  return undefined;
}

/** Why resume is refused now; undefined when allowed. */
export function resumeRejection(s: Strategy): string | undefined {
  if (s.state === "paused" || (s.state === "applying" && s.rollout?.paused)) return undefined;
  return `resume not allowed while ${s.state}`;
}

/** Marks `s` paused (state `paused` at once when no stage runs); returns the events. */
export function pauseStrategy(s: Strategy): NewEvent[] {
  s.rollout ??= newRolloutState(DEFAULT_ROLLOUT);
  s.rollout.paused = true;
  const phase = s.applyPhase;
  if (phase.currentStage >= phase.stopAtStage) {
    // Between stage applies: nothing runs, so paused now (otherwise at the next stage boundary).
    s.state = "paused";
    return [stateEvent("applying", "paused", s.uuid, "paused on request")];
  }
  return [];
}

/** Resumes `s`: back to `applying`, failures so far accepted, a failed stage reset to run again. */
export function resumeStrategy(s: Strategy): NewEvent[] {
  const r = (s.rollout ??= newRolloutState(DEFAULT_ROLLOUT));
  const old = s.state;
  r.paused = false;
  r.stopReason = "";
  r.acceptedFailures = r.failures;
  const phase = s.applyPhase;
  const stage = phase.stages[phase.currentStage];
  if (stage && (stage.result === "failed" || stage.result === "timed-out")) {
    stage.result = "initial";
    stage.reason = "";
    stage.inprogress = false;
    stage.currentStep = 0;
    stage.startDate = "";
    stage.endDate = "";
    for (const st of stage.steps) Object.assign(st, { result: "initial", reason: "", startDate: "", endDate: "" });
  }
  if (!phase.inprogress) {
    phase.inprogress = true;
    phase.result = "inprogress";
    phase.reason = "";
    phase.endDate = "";
  }
  s.state = "applying";
  return old === "applying" ? [] : [stateEvent(old, "applying", s.uuid, "resumed")];
}
