/**
 * ROLLOUT (issue 20): what the strategy runner does for a safer rollout: the error budget and the
 * health gate at every stage boundary, the canary's soak, pause, the automatic stop (`--on-failure`)
 * and the rollback. The StrategyRunner calls it at fixed points; the rules are in error-budget.ts,
 * health-gate.ts, canary.ts and rollback.ts.
 */
import { budgetExhausted, budgetReason, failureBudget, type BudgetState } from "./error-budget.js";
import { evaluateGate, type GateResult } from "./health-gate.js";
import { finishPhase, now } from "./phases.js";
import type { ClusterSnapshot } from "./ports.js";
import { buildRollbackPhase, patchedHosts } from "./rollback.js";
import { stageHosts } from "./canary.js";
import { DEFAULT_ROLLOUT } from "./rollout-options.js";
import { budgetMode } from "./rollout-options.js";
import type { RolloutState, Strategy, StrategyStage, StrategyStep } from "./model.js";
import type { StepContext, StepOutcome } from "./steps.js";
import type { StrategyRunnerContext } from "./strategy-runner.js";
import { stateEvent } from "./strategy-events.js";

/** Reference seconds between background gate verdicts while a stage runs (at least). */
export const BACKGROUND_GATE_S = 30;

/** Gate verdicts a strategy keeps (the oldest are dropped beyond). */
export const MAX_GATE_VERDICTS = 100;

/** Whether any safer-rollout option is in use (without one the engine behaves exactly as the reference). */
export function rolloutActive(r: RolloutState | undefined): r is RolloutState {
  if (!r) return false;
  const d = DEFAULT_ROLLOUT;
  return r.maxFailures !== d.maxFailures || r.minExecuted > 0 || r.canary > 0 || r.canaryHosts.length > 0 || r.onFailure !== d.onFailure || r.healthGate !== d.healthGate;
}

function budgetOf(r: RolloutState): BudgetState {
  return { budget: r.failureBudget, failures: r.failures, executed: r.executed, minExecuted: r.minExecuted, acceptedFailures: r.acceptedFailures };
}

/**
 * The safer-rollout part of the runner.
 *
 * INVARIANTS: used by the one StrategyRunner; every change to the strategy is made in a
 * synchronous section and followed by `persist`; a host's outcome is recorded once (a step
 * re-run after a restart does not count it twice).
 */
export class RolloutRunner {
  constructor(private readonly c: StrategyRunnerContext) {}

  /** After a successful build: the budget, the hosts and the patches the strategy rolls out. */
  built(s: Strategy, snap: ClusterSnapshot, canaryStages: number): void {
    const r = s.rollout;
    if (!r) return;
    const hosts = new Set(s.applyPhase.stages.flatMap(stageHosts));
    r.hostsTotal = hosts.size;
    r.failureBudget = failureBudget(r.maxFailures, hosts.size);
    r.canaryStages = canaryStages;
    r.patchIds = snap.patches.filter((p) => p.patchState === "Partial-Apply").map((p) => p.id);
  }

  /** Extra step context in the apply phase: host failures spend the budget, soak runs the gate. */
  stepContext(s: Strategy, step: StrategyStep, signal: AbortSignal): Partial<StepContext> {
    const r = s.rollout;
    if (!r) return {};
    if (s.currentPhase !== "apply") return { rolloutStep: () => this.removePatches(s, signal) };
    const out: Partial<StepContext> = {
      hostFailed: (host, reason) => {
        this.hostOutcome(s, host, "failed", reason);
        return budgetMode(r);
      },
      rolloutStep: (st) => (st.name === "soak" ? this.soak(s, st, signal) : this.removePatches(s, signal)),
    };
    if (this.perHostTimers(s, step) && (step.name === "sw-patch-hosts" || step.name === "unlock-hosts")) out.hostTimeoutMs = this.c.ms(step.timeout);
    return out;
  }

  /** Whether the step runs on per-host timers (its own timer is then only the stage/phase backstop). */
  perHostTimers(s: Strategy, step: StrategyStep): boolean {
    return s.currentPhase === "apply" && budgetMode(s.rollout) && (step.name === "sw-patch-hosts" || step.name === "unlock-hosts");
  }

  /** A stage ended well: its hosts that did not fail have finished. */
  stageDone(s: Strategy, stage: StrategyStage): void {
    for (const h of stageHosts(stage)) this.hostOutcome(s, h, "success", "");
  }

  private hostOutcome(s: Strategy, host: string, outcome: "success" | "failed", reason: string): void {
    const r = s.rollout;
    if (!r || r.hostOutcomes[host] !== undefined) return;
    r.hostOutcomes[host] = outcome;
    r.executed++;
    if (outcome === "failed") {
      r.failures++;
      void this.c.persist([{ kind: "strategy.host", operationId: s.uuid, hostname: host, newState: "failed", message: reason }]).catch(() => undefined);
    }
  }

  /**
   * Before the next apply stage starts (and after the last one): the gate on the stage just done,
   * the budget, a pause. False when the strategy stopped or paused here (the runner returns).
   */
  async boundary(s: Strategy, signal: AbortSignal): Promise<boolean> {
    const r = s.rollout;
    if (!r) return true;
    const phase = s.applyPhase;
    if (r.pendingGateFailure) {
      const reason = r.pendingGateFailure;
      delete r.pendingGateFailure;
      return this.stop(s, reason);
    }
    if (rolloutActive(r) && phase.currentStage > 0) {
      const v = await this.gate(s, signal, phase.currentStage - 1, true);
      if (v.verdict === "fail") return this.stop(s, `health gate ${r.healthGate} failed after stage ${phase.currentStage - 1}: ${v.evidence}`);
    }
    const b = budgetOf(r);
    if (budgetMode(r) && budgetExhausted(b)) return this.stop(s, budgetReason(b));
    if (r.paused && phase.currentStage < phase.totalStages) {
      const old = s.state;
      s.state = "paused";
      await this.c.persist([stateEvent(old, "paused", s.uuid, "paused on request")]);
      return false;
    }
    return true;
  }

  /**
   * The gate in the background while an apply stage runs: every audit interval (at least
   * BACKGROUND_GATE_S reference seconds apart) a verdict; a fail is recorded and stops the strategy
   * at the next stage boundary. Returns the function that ends it.
   */
  watchGate(s: Strategy, signal: AbortSignal): () => void {
    const r = s.rollout;
    if (!rolloutActive(r)) return () => undefined;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener("abort", onAbort);
    const every = this.c.ms(Math.max(this.c.auditIntervalS, BACKGROUND_GATE_S));
    void (async () => {
      while (!ac.signal.aborted) {
        await this.c.port.sleep(every, ac.signal);
        const stage = s.applyPhase.stages[s.applyPhase.currentStage];
        if (ac.signal.aborted || s.state !== "applying" || !stage?.inprogress || r.pendingGateFailure) continue;
        const v = await this.gate(s, ac.signal, stage.stageId, false);
        if (v.verdict === "fail" && !ac.signal.aborted && !r.pendingGateFailure) {
          r.pendingGateFailure = `health gate ${r.healthGate} failed during stage ${stage.stageId}: ${v.evidence}`;
          await this.c.persist([]);
        }
      }
    })().catch(() => undefined);
    return () => {
      signal.removeEventListener("abort", onAbort);
      ac.abort();
    };
  }

  /** Evaluates the gate now and records a verdict that is not a pass (and, with `recordPass`, a pass). */
  async gate(s: Strategy, signal: AbortSignal, stageId: number, recordPass: boolean): Promise<GateResult> {
    const r = s.rollout!;
    const snap = await this.c.port.snapshot(signal);
    const v = evaluateGate(r.healthGate, snap, {
      since: new Date(r.applyStartedAt || s.applyPhase.startDate || now()),
      patchedHosts: patchedHosts(s),
      restriction: s.alarmRestrictions,
      extraIgnoredAlarms: this.c.extraIgnoredAlarms ?? [],
    });
    if (v.verdict !== "pass" || recordPass) {
      r.gateVerdicts.push({ at: now(), gate: r.healthGate, verdict: v.verdict, evidence: v.evidence, stageId });
      if (r.gateVerdicts.length > MAX_GATE_VERDICTS) r.gateVerdicts.splice(0, r.gateVerdicts.length - MAX_GATE_VERDICTS);
      await this.c.persist([]);
    }
    return v;
  }

  /**
   * The budget or the gate stopped the strategy (or a step failed): `--on-failure` decides.
   * pause → `paused`; abort / rollback → `apply-failed` (the runner then aborts; rollback after).
   * Returns false (the runner stops here).
   */
  async stop(s: Strategy, reason: string, stepFailed = false): Promise<false> {
    const r = s.rollout!;
    r.stopReason = reason;
    const old = s.state;
    if (r.onFailure === "pause") {
      if (stepFailed) s.applyPhase.reason = reason;
      r.paused = true;
      s.state = "paused";
      await this.c.persist([stateEvent(old, "paused", s.uuid, reason)]);
      await this.c.setAlarm("apply-failed");
      return false;
    }
    r.rollbackPending = r.onFailure === "rollback";
    if (!stepFailed) finishPhase(s.applyPhase, "failed", reason);
    s.state = "apply-failed";
    await this.c.persist([stateEvent(old, "apply-failed", s.uuid, reason)]);
    await this.c.setAlarm("apply-failed");
    return false;
  }

  /** After the abort phase: start the rollback when an automatic stop asked for one. True when it did. */
  async afterAbort(s: Strategy): Promise<boolean> {
    const r = s.rollout;
    if (!r?.rollbackPending) return false;
    r.rollbackPending = false;
    r.rollbackPhase = buildRollbackPhase(s);
    s.currentPhase = "rollback";
    const old = s.state;
    s.state = "rolling-back";
    await this.c.persist([stateEvent(old, "rolling-back", s.uuid, r.stopReason)]);
    return true;
  }

  /** The soak after the canary: the gate every audit interval for `--soak` seconds; a fail ends the step failed. */
  private async soak(s: Strategy, step: StrategyStep, signal: AbortSignal): Promise<StepOutcome> {
    const r = s.rollout!;
    const until = Date.now() + this.c.ms(r.soakSeconds);
    const stageId = s.applyPhase.currentStage;
    for (;;) {
      const v = await this.gate(s, signal, stageId, false);
      if (v.verdict === "fail") return { result: "failed", reason: `health gate ${r.healthGate} failed during the soak: ${v.evidence}` };
      const left = until - Date.now();
      if (left <= 0) {
        await this.gate(s, signal, stageId, true);
        return { result: "success", reason: "" };
      }
      step.reason = `soaking, ${Math.ceil(left / this.c.ms(1))} s left; gate ${r.healthGate}: ${v.verdict}`;
      await this.c.port.sleep(Math.min(left, this.c.ms(this.c.auditIntervalS)), signal);
    }
  }

  private async removePatches(s: Strategy, signal: AbortSignal): Promise<StepOutcome> {
    const ids = s.rollout?.patchIds ?? [];
    if (ids.length === 0) return { result: "success", reason: "no patches to remove" };
    if (!this.c.port.removePatches) return { result: "failed", reason: "patch removal is not available" };
    await this.c.port.removePatches(ids, signal);
    return { result: "success", reason: `removed ${ids.join(", ")}` };
  }
}

/** Used by `sw-manager` and views: budget spent / left. */
export function budgetSummary(r: RolloutState): string {
  return `${r.failures} of ${r.failureBudget} failure(s) spent, ${Math.max(0, r.failureBudget - r.failures)} left; ${r.executed} of ${r.hostsTotal} host(s) finished`;
}

export { DEFAULT_ROLLOUT };
