/**
 * The console's view of a strategy's plan hash and windows (PLAN, issue 20) and of the error
 * budget, canary, health-gate verdicts and rollback (ROLLOUT's fields, read by their names in
 * rollout-fields.md when the strategy has them; `rollout` is null when it has none).
 */
import { rolloutActive } from "../../domain/orchestration/rollout-runner.js";
import type { Strategy, StrategyPhase } from "../../domain/orchestration/model.js";

/** A ROLLOUT gate verdict as the strategy may hold it. */
interface VerdictLike {
  at?: string | Date;
  gate?: string;
  verdict?: string;
  evidence?: string;
  stageId?: number;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Plan and rollout blocks of the console's strategy view; `phase` maps a phase as views.ts does. */
export function planView<P>(s: Strategy, phase: (p: StrategyPhase) => P) {
  const live = s.state === "applying" || (s.state as string) === "paused";
  // ROLLOUT's state (rollout-runner.ts), shown when a safer-rollout option is in use.
  const r = (rolloutActive(s.rollout) ? s.rollout : {}) as unknown as Record<string, unknown>;
  const plan = {
    planHash: s.planHash ?? "",
    windows: [...(s.windows ?? [])],
    windowTz: s.windows?.length ? (s.windowTz ?? "UTC") : "",
    cutoffMinutes: s.cutoffMinutes ?? 0,
    windowState: live ? (s.windowState ?? "") : "",
    nextWindowStart: live ? (s.nextWindowStart ?? "") : "",
  };
  if (!rolloutActive(s.rollout)) return { plan, rollout: null };
  const budget = num(r.failureBudget);
  const failures = num(r.failures) ?? 0;
  const verdicts = Array.isArray(r.gateVerdicts) ? (r.gateVerdicts as VerdictLike[]) : [];
  const rollback = r.rollbackPhase as StrategyPhase | undefined;
  return {
    plan,
    rollout: {
      maxFailures: str(r.maxFailures),
      minExecuted: num(r.minExecuted) ?? 0,
      failureBudget: budget ?? 0,
      failures,
      budgetLeft: Math.max(0, (budget ?? 0) - failures),
      executed: num(r.executed) ?? 0,
      canaryHosts: Array.isArray(r.canaryHosts) ? (r.canaryHosts as unknown[]).map(String) : [],
      soakSeconds: num(r.soakSeconds) ?? 0,
      healthGate: str(r.healthGate) || "alarms",
      onFailure: str(r.onFailure) || "abort",
      paused: r.paused === true,
      stopReason: str(r.stopReason),
      gateVerdicts: verdicts.map((v) => ({
        at: v.at instanceof Date ? v.at.toISOString() : str(v.at),
        gate: str(v.gate),
        verdict: str(v.verdict),
        evidence: str(v.evidence),
        stageId: num(v.stageId) ?? 0,
      })),
      rollbackPhase: rollback && Array.isArray(rollback.stages) ? phase(rollback) : null,
    },
  };
}
