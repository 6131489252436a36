/**
 * The orchestration state machine: what the background runner does next for a strategy (build,
 * apply stage by stage and step by step, abort with compensation), each step run under its
 * timers. It changes the strategy it is given and saves through its context.
 */
import { failpointAsync } from "../../lib/failpoint.js";
import type { NewEvent } from "../events/event-log.js";
import { buildApplyStages } from "./builder.js";
import { buildWithCanary } from "./canary.js";
import { RolloutRunner, rolloutActive } from "./rollout-runner.js";
import { isSuccess, newPhase, type Strategy, type StrategyPhase, type StrategyResult, type StrategyStep } from "./model.js";
import { finishPhase, now, startAbortPhase } from "./phases.js";
import type { ClusterPort, ClusterSnapshot, OrchestrationAlarm } from "./ports.js";
import { runStep, type StepOutcome } from "./steps.js";
import { sealPlan } from "./plan-hash.js";
import { stateEvent, stepEvent } from "./strategy-events.js";
import { withTimer } from "./step-timer.js";

/** What the runner needs from the orchestrator. */
export interface StrategyRunnerContext {
  port: ClusterPort;
  extraIgnoredAlarms: readonly string[] | undefined;
  /** Reference seconds between polls of waiting steps. */
  auditIntervalS: number;
  /** Reference seconds → scaled ms. */
  ms(seconds: number): number;
  /** Saves the current strategy with `events` (in call order) and notifies watchers. */
  persist(events: NewEvent[]): Promise<void>;
  /** Raises or clears the orchestration alarm; never throws. */
  setAlarm(alarm: OrchestrationAlarm): Promise<void>;
  /** PLAN: maintenance windows (window-gate.ts); true = it waited, leave the phase and enter it again. */
  windowGate?(s: Strategy, signal: AbortSignal): Promise<boolean>;
}

/**
 * Runs strategies forward.
 *
 * INVARIANTS: called by one runner at a time (the orchestrator's); every change to the strategy
 * is made in a synchronous section and followed by `persist`; an abort of the engine signal
 * propagates as AbortError and leaves the strategy where a restart resumes it.
 */
export class StrategyRunner {
  private readonly rollout: RolloutRunner;

  constructor(private readonly c: StrategyRunnerContext) {
    this.rollout = new RolloutRunner(c);
  }

  /** Does the next piece of work on `s`; false when there is none. */
  async step(s: Strategy | undefined, signal: AbortSignal): Promise<boolean> {
    if (!s) return false;
    switch (s.state) {
      case "building":
        await this.runBuild(s, signal);
        return true;
      case "applying":
        if (s.abortRequested) return this.toAborting(s);
        if (s.applyPhase.inprogress && s.applyPhase.currentStage < s.applyPhase.stopAtStage) {
          const stopGate = this.rollout.watchGate(s, signal); // ROLLOUT: the gate in the background
          try {
            await this.runPhase(s, s.applyPhase, signal);
          } finally {
            stopGate();
          }
          return true;
        }
        return false;
      case "apply-failed":
      case "apply-timeout":
        return this.toAborting(s);
      case "aborting":
        if (s.currentPhase === "apply") {
          startAbortPhase(s);
          await this.c.persist([]);
          return true;
        }
        await this.runPhase(s, s.abortPhase, signal);
        return true;
      case "rolling-back":
        if (!s.rollout) return false;
        await this.runPhase(s, s.rollout.rollbackPhase, signal);
        return true;
      default:
        return false;
    }
  }

  /** Moves `s` to `aborting` (from applying, apply-failed or apply-timeout). */
  private async toAborting(s: Strategy): Promise<boolean> {
    const old = s.state;
    s.state = "aborting";
    s.abortRequested = true;
    await this.c.persist([stateEvent(old, "aborting", s.uuid)]);
    if (old === "applying") await this.c.setAlarm("apply-aborting");
    return true;
  }

  /** Build phase (§6): three query steps, then the checks and the apply-phase construction. */
  private async runBuild(s: Strategy, signal: AbortSignal): Promise<void> {
    const phase = s.buildPhase;
    const stage = phase.stages[0]!;
    const phaseDeadline = Date.now() + this.c.ms(phase.timeout);
    stage.inprogress = true;
    stage.result = "inprogress";
    if (!stage.startDate) stage.startDate = now();
    const snaps: ClusterSnapshot[] = [];
    let outcome: StepOutcome = { result: "success", reason: "" };
    for (stage.currentStep = 0; stage.currentStep < stage.totalSteps; stage.currentStep++) {
      const step = stage.steps[stage.currentStep]!;
      step.result = "wait";
      step.startDate = now();
      await this.c.persist([stepEvent(s, "build", stage, step)]);
      const limit = Math.min(this.c.ms(step.timeout), phaseDeadline - Date.now());
      outcome = await withTimer(limit, signal, async (sig) => {
        snaps.push(await this.c.port.snapshot(sig));
        return { result: "success", reason: "" };
      });
      step.result = outcome.result;
      step.reason = outcome.reason;
      step.endDate = now();
      if (!isSuccess(outcome.result)) break;
      await this.c.persist([stepEvent(s, "build", stage, step)]);
    }
    const t = now();
    stage.inprogress = false;
    stage.result = isSuccess(outcome.result) ? "success" : outcome.result;
    stage.reason = outcome.reason;
    stage.endDate = t;
    phase.currentStage = 1;
    phase.inprogress = false;
    phase.endDate = t;
    const old = s.state;
    if (!isSuccess(outcome.result)) {
      phase.result = outcome.result;
      phase.reason = outcome.reason;
      s.state = outcome.result === "timed-out" ? "build-timeout" : "build-failed";
    } else {
      const [alarmsSnap, patchesSnap, hostsSnap] = [snaps[0]!, snaps[1]!, snaps[2]!];
      const merged: ClusterSnapshot = { ...hostsSnap, alarms: alarmsSnap.alarms, patches: patchesSnap.patches };
      const built = s.rollout ? buildWithCanary(s, s.rollout, merged, this.c.extraIgnoredAlarms) : buildApplyStages(s, merged, this.c.extraIgnoredAlarms);
      s.singleController = merged.singleController;
      if (built.ok) {
        phase.result = "success";
        s.applyPhase = newPhase("apply", built.stages);
        this.rollout.built(s, merged, (built as { canaryStages?: number }).canaryStages ?? 0);
        sealPlan(s, merged); // PLAN: plan hash (after ROLLOUT's fields are set: they are part of it)
        s.state = "ready-to-apply";
      } else {
        phase.result = "failed";
        phase.reason = built.reason;
        s.state = "build-failed";
      }
    }
    await this.c.persist([stepEvent(s, "build", stage, stage.steps[Math.min(stage.currentStep, stage.totalSteps - 1)]!), stateEvent(old, s.state, s.uuid, phase.reason)]);
  }

  /** Runs `phase` (apply or abort) from its current stage up to its stop-at-stage. */
  private async runPhase(s: Strategy, phase: StrategyPhase, signal: AbortSignal): Promise<void> {
    const isApply = phase.name === "apply";
    const phaseDeadline = Date.now() + this.c.ms(phase.timeout);
    while (phase.currentStage < phase.stopAtStage) {
      if (isApply && s.abortRequested) {
        // Aborted between stages: later stages never start.
        finishPhase(phase, "aborted", "");
        await this.c.persist([]);
        return;
      }
      const stage = phase.stages[phase.currentStage]!;
      // ROLLOUT: the gate and the budget before the stage's hosts start; a pause stops here.
      if (isApply && !stage.inprogress && !(await this.rollout.boundary(s, signal))) return;
      // PLAN: a stage's hosts start only inside a maintenance window.
      if (isApply && !stage.inprogress && (await this.c.windowGate?.(s, signal))) return;
      const stageDeadline = Date.now() + this.c.ms(stage.timeout);
      if (!stage.inprogress) {
        stage.inprogress = true;
        stage.result = "inprogress";
        stage.startDate = now();
      }
      let failure: StepOutcome | undefined;
      let stopped = false;
      while (stage.currentStep < stage.totalSteps) {
        if (isApply && s.abortRequested) {
          stopped = true;
          break;
        }
        const step = stage.steps[stage.currentStep]!;
        step.result = "wait";
        if (!step.startDate) step.startDate = now();
        await this.c.persist([stepEvent(s, phase.name, stage, step)]);
        await failpointAsync(`strategy:${phase.name}-step-started`);
        const outcome = await this.execute(s, step, signal, stageDeadline, phaseDeadline);
        step.result = outcome.result;
        step.reason = outcome.reason;
        step.endDate = now();
        delete step.deadline;
        if (!isSuccess(outcome.result)) {
          failure = outcome;
          await this.c.persist([stepEvent(s, phase.name, stage, step)]);
          break;
        }
        stage.currentStep++;
        await this.c.persist([stepEvent(s, phase.name, stage, step)]);
        await failpointAsync(`strategy:${phase.name}-step-done`);
      }
      // An abort accepted while the stage's last step ran still ends the stage `aborted` (§11).
      if (!failure && isApply && s.abortRequested) stopped = true;
      if (failure || stopped) {
        const result: StrategyResult = stopped ? "aborted" : failure!.result;
        const reason = stopped ? "" : failure!.reason;
        stage.inprogress = false;
        stage.result = result;
        stage.reason = reason;
        stage.endDate = now();
        finishPhase(phase, result, reason);
        const old = s.state;
        if (isApply && !stopped && rolloutActive(s.rollout)) {
          await this.rollout.stop(s, reason, true);
        } else if (isApply && !stopped) {
          s.state = result === "timed-out" ? "apply-timeout" : "apply-failed";
          await this.c.persist([stateEvent(old, s.state, s.uuid, reason)]);
          await this.c.setAlarm("apply-failed");
        } else if (phase.name === "rollback") {
          s.state = "rollback-failed";
          await this.c.persist([stateEvent(old, s.state, s.uuid, reason)]);
        } else if (!isApply) {
          s.state = result === "timed-out" ? "abort-timeout" : "abort-failed";
          s.abortRequested = false;
          await this.c.persist([stateEvent(old, s.state, s.uuid, reason)]);
        } else {
          await this.c.persist([]);
        }
        return;
      }
      stage.inprogress = false;
      stage.result = "success";
      stage.endDate = now();
      if (isApply) this.rollout.stageDone(s, stage);
      phase.currentStage++;
      // After the last stage the phase result is saved together with this (one snapshot).
      if (phase.currentStage < phase.totalStages) await this.c.persist([]);
    }
    if (phase.currentStage < phase.totalStages) return; // paused after an apply-stage
    // ROLLOUT: the gate and the budget after the last stage too.
    if (isApply && !(await this.rollout.boundary(s, signal))) return;
    finishPhase(phase, "success", "");
    const old = s.state;
    if (phase.name === "rollback") {
      s.state = "rolled-back";
      await this.c.persist([stateEvent(old, "rolled-back", s.uuid, s.rollout?.stopReason ?? "")]);
    } else if (isApply) {
      if (s.rollout) s.rollout.paused = false; // a pause asked for during the last stage has nothing left to stop
      s.state = "applied";
      await this.c.persist([stateEvent(old, "applied", s.uuid)]);
      await this.c.setAlarm(null);
    } else if (await this.rollout.afterAbort(s)) {
      s.abortRequested = false;
      await this.c.persist([]);
    } else {
      s.state = "aborted";
      s.abortRequested = false;
      await this.c.persist([stateEvent(old, "aborted", s.uuid)]);
      if (s.applyPhase.result === "aborted") await this.c.setAlarm(null);
    }
  }

  /** Runs one step under its own timeout and the stage/phase backstops. */
  private execute(s: Strategy, step: StrategyStep, signal: AbortSignal, stageDeadline: number, phaseDeadline: number): Promise<StepOutcome> {
    const backstop = Math.min(stageDeadline, phaseDeadline) - Date.now();
    // system-stabilize: timer expiry is success, so it runs on its own wait, bounded by the backstops only.
    const own = step.name === "system-stabilize" || this.rollout.perHostTimers(s, step) ? Number.POSITIVE_INFINITY : this.c.ms(step.timeout);
    const limit = Math.min(own, backstop);
    step.deadline = new Date(Date.now() + Math.min(this.c.ms(step.timeout), backstop)).toISOString();
    return withTimer(
      limit,
      signal,
      (sig) =>
        runStep(step, {
          port: this.c.port,
          signal: sig,
          ms: (sec) => this.c.ms(sec),
          restriction: s.alarmRestrictions,
          extraIgnoredAlarms: this.c.extraIgnoredAlarms ?? [],
          auditIntervalS: this.c.auditIntervalS,
          now: () => new Date(),
          note: (reason) => {
            if (step.reason === reason || step.result !== "wait") return;
            step.reason = reason;
            void this.c.persist([]).catch(() => undefined);
          },
          ...this.rollout.stepContext(s, step, sig),
        }),
      own > backstop ? "timeout" : "",
    );
  }
}
