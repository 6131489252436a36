/**
 * ROLLOUT (issue 20): the safer-rollout lines `sw-manager patch-strategy show` prints after the
 * reference's output (nothing for a strategy that uses none of the new options, so the reference's
 * output stays as it was).
 */
import type { Strategy } from "../../../sdk/src/gen/swpatch/v1/orchestration_service.js";
import { fieldLine, formatDateTime, pyRepr } from "./strategy-show.js";

/** Gate verdicts shown (the latest). */
export const SHOWN_VERDICTS = 5;

/** Whether the strategy uses any safer-rollout option (or is in a state only they reach). */
export function rolloutInUse(s: Strategy): boolean {
  return (
    (s.maxFailures ?? "") !== "" ||
    (s.minExecuted ?? 0) > 0 ||
    (s.canaryHosts ?? []).length > 0 ||
    (s.canary ?? 0) > 0 ||
    ((s.healthGate ?? "") !== "" && s.healthGate !== "alarms") ||
    ((s.onFailure ?? "") !== "" && s.onFailure !== "abort") ||
    !!s.paused ||
    ["paused", "rolling-back", "rolled-back", "rollback-failed"].includes(s.state)
  );
}

/** The lines after the reference's summary (and, for a rollback, its result block). */
export function renderRollout(s: Strategy): string {
  if (!rolloutInUse(s)) return "";
  let out = "";
  const budget = s.failureBudget ?? 0;
  const failures = s.failures ?? 0;
  out += fieldLine(2, "max-failures", s.maxFailures || "0");
  if ((s.minExecuted ?? 0) > 0) out += fieldLine(2, "min-executed", s.minExecuted);
  out += fieldLine(2, "failure-budget", `${failures} of ${budget} spent, ${Math.max(0, budget - failures)} left`);
  out += fieldLine(2, "hosts-finished", `${s.executed ?? 0} of ${s.hostsTotal ?? 0}`);
  if ((s.canaryStages ?? 0) > 0 || (s.canaryHosts ?? []).length > 0 || (s.canary ?? 0) > 0) {
    if ((s.canaryHosts ?? []).length > 0) out += fieldLine(2, "canary-hosts", pyRepr(s.canaryHosts));
    else out += fieldLine(2, "canary", s.canary);
    out += fieldLine(2, "canary-stages", s.canaryStages ?? 0);
    if ((s.soakSeconds ?? 0) > 0) out += fieldLine(2, "soak", `${s.soakSeconds} seconds`);
  }
  out += fieldLine(2, "health-gate", s.healthGate || "alarms");
  out += fieldLine(2, "on-failure", s.onFailure || "abort");
  if (s.paused) out += fieldLine(2, "paused", "true");
  if (s.stopReason) out += fieldLine(2, "stop-reason", s.stopReason);
  const verdicts = (s.gateVerdicts ?? []).filter((v) => v.verdict !== "pass").slice(-SHOWN_VERDICTS);
  if (verdicts.length > 0) {
    out += "  gate-verdicts:\n";
    for (const v of verdicts) out += fieldLine(4, `${formatDateTime(v.at)} stage ${v.stageId} ${v.gate}`, `${v.verdict}: ${v.evidence}`);
  }
  const rb = s.rollbackPhase;
  if (s.currentPhase === "rollback" && rb) {
    if (s.applyPhase) out += fieldLine(2, "apply-result", s.applyPhase.result) + fieldLine(2, "apply-reason", s.applyPhase.reason);
    if (rb.inprogress) out += fieldLine(2, "rollback-inprogress", `true (stage ${rb.currentStage} of ${rb.totalStages}, ${rb.completionPercentage}%)`);
    else out += fieldLine(2, "rollback-result", rb.result) + fieldLine(2, "rollback-reason", rb.reason);
  }
  return out;
}
