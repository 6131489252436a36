import { setMaxListeners } from "node:events";
import { randomUUID } from "node:crypto";
import { isAbortError } from "abort-controller-x";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { NewEvent } from "../events/event-log.js";
import type { Logger } from "../../lib/log.js";
import { failpointAsync } from "../../lib/failpoint.js";
import { buildApplyStages } from "./builder.js";
import {
  cloneStrategy,
  DEFAULT_OPTIONS,
  isSuccess,
  MAX_PARALLEL_WORKER_HOSTS,
  MIN_PARALLEL_WORKER_HOSTS,
  newPhase,
  newStage,
  newStep,
  phaseTimeout,
  refreshComputed,
  type StrategyPhase,
  type Strategy,
  type StrategyOptions,
  type StrategyResult,
  type StrategyStage,
  type StrategyState,
  type StrategyStep,
} from "./model.js";
import type { StrategyPersistence } from "./persistence.js";
import type { ClusterPort, ClusterSnapshot, OrchestrationAlarm } from "./ports.js";
import { runStep, type StepOutcome } from "./steps.js";

/** Options of {@link Orchestrator}. */
export interface OrchestratorOptions {
  port: ClusterPort;
  persistence: StrategyPersistence;
  log?: Logger;
  /** Factor applied to every wait and timeout (controller `--time-scale`). Default 1. `show` keeps reference values. */
  timeScale?: number;
  /** Extra alarm ids to ignore (VIM `[sw-mgmt-configuration] ignore_alarms`). */
  extraIgnoredAlarms?: readonly string[];
  /** Reference seconds between polls of waiting steps. Default 10. */
  auditIntervalS?: number;
}

const ALREADY_EXISTS_MESSAGE = "strategy already exists of type:sw-patch";
/** NOT_FOUND message when no strategy exists (the CLI's "No strategy available"). */
export const NO_STRATEGY_MESSAGE = "No strategy available";
const RUNNING_STATES: ReadonlySet<StrategyState> = new Set(["building", "applying", "aborting"]);

const now = () => new Date().toISOString();

/**
 * The sw-patch orchestration engine (spec orchestration §4, §6–§13): one strategy at a time,
 * built from a cluster snapshot, applied stage by stage and step by step, aborted with
 * compensation, persisted after every change and resumed after a restart.
 *
 * INVARIANTS: at most one background runner; every mutation of the strategy happens in a
 * synchronous section (no await between a state check and the change it guards) and is
 * followed by `persist()`, which saves in call order and then notifies watchers; watchers and
 * callers only ever see deep copies.
 */
export class Orchestrator {
  private s: Strategy | undefined;
  private runner: Promise<void> | undefined;
  private runAc = new AbortController();
  private saveChain: Promise<void> = Promise.resolve();
  private readonly watchers = new Set<(s: Strategy | undefined) => void>();
  private closed = false;
  private readonly scale: number;
  private readonly auditIntervalS: number;

  constructor(private readonly o: OrchestratorOptions) {
    this.scale = o.timeScale ?? 1;
    if (!(this.scale > 0)) throw invalidArgument("time scale must be positive");
    this.auditIntervalS = o.auditIntervalS ?? 10;
  }

  /** Loads a persisted strategy and carries on with it (build re-run, apply/abort resumed at the current step). */
  async init(): Promise<void> {
    this.s = await this.o.persistence.load();
    const s = this.s;
    if (!s) return;
    if (s.state === "building") {
      s.buildPhase = this.freshBuildPhase();
      await this.persist([]);
    }
    this.o.log?.info("strategy loaded", { uuid: s.uuid, state: s.state });
    this.kick(true);
  }

  /** The current strategy (a copy), or undefined. */
  current(): Strategy | undefined {
    return this.s ? cloneStrategy(this.s) : undefined;
  }

  /** The current strategy; NOT_FOUND "No strategy available" when none. */
  get(): Strategy {
    if (!this.s) throw notFound(NO_STRATEGY_MESSAGE, { reason: "STRATEGY_NOT_FOUND" });
    return cloneStrategy(this.s);
  }

  /**
   * Creates a strategy (state `building`) and builds it in the background; build problems show
   * up later as `build-failed` (§3.1). ALREADY_EXISTS when one exists; INVALID_ARGUMENT for a
   * max-parallel-worker-hosts outside 2..100.
   */
  async create(options: Partial<StrategyOptions> = {}): Promise<Strategy> {
    this.assertOpen();
    if (this.s) throw alreadyExists(ALREADY_EXISTS_MESSAGE, { reason: "STRATEGY_EXISTS" });
    const opts = normalizeOptions(options);
    const s: Strategy = {
      version: 1,
      uuid: randomUUID(),
      name: "sw-patch",
      ...opts,
      state: "building",
      currentPhase: "build",
      currentPhaseCompletionPercentage: 0,
      buildPhase: this.freshBuildPhase(),
      applyPhase: newPhase("apply"),
      abortPhase: newPhase("abort"),
    };
    this.s = s;
    await this.persist([stateEvent("", "building", s.uuid)]);
    this.kick();
    return cloneStrategy(s);
  }

  /**
   * apply-all (`stageId` undefined) or apply-stage N (§10). FAILED_PRECONDITION with the
   * reference's reason when rejected; NOT_FOUND when no strategy exists.
   */
  async apply(stageId?: number): Promise<Strategy> {
    this.assertOpen();
    const s = this.require();
    const phase = s.applyPhase;
    const reject = (reason: string) => failedPrecondition(reason, { reason: "APPLY_REJECTED" });
    if (s.buildPhase.result !== "success" || s.state.startsWith("build")) throw reject(s.buildPhase.reason || "build not complete");
    if (s.currentPhase === "abort" || s.state === "aborting") throw reject("apply not supported during an abort");
    if (["success", "degraded", "failed", "timed-out", "aborted"].includes(phase.result) || s.state !== "ready-to-apply" && s.state !== "applying") {
      throw reject("apply already completed");
    }
    if (stageId !== undefined && (!Number.isInteger(stageId) || stageId < 0 || stageId >= phase.totalStages)) {
      throw reject(`invalid stage id ${stageId} for the apply, total-stages are ${phase.totalStages}`);
    }
    const running = s.state === "applying" && phase.currentStage < phase.stopAtStage;
    if (running) throw reject("apply already inprogress");
    if (stageId !== undefined) {
      if (stageId < phase.currentStage) throw reject(`apply already complete for stage id ${stageId}`);
      if (stageId > phase.currentStage) throw reject(`stage id ${stageId} is not the next stage to be applied, next-stage = ${phase.currentStage}`);
    }
    const stopAt = stageId === undefined ? phase.totalStages : stageId + 1;
    const old = s.state;
    phase.stopAtStage = stopAt;
    phase.timeout = phaseTimeout(phase, phase.currentStage, stopAt);
    phase.inprogress = true;
    phase.result = "inprogress";
    if (!phase.startDate) phase.startDate = now();
    s.currentPhase = "apply";
    s.state = "applying";
    await this.persist(old !== "applying" ? [stateEvent(old, "applying", s.uuid)] : []);
    await this.setAlarm("apply-inprogress");
    this.kick();
    return cloneStrategy(s);
  }

  /**
   * Aborts the apply (§11): the running step finishes, the rest of its stage is skipped, then
   * the stage's lock/stop/disable steps are undone. With `stageId`, only if that stage is the
   * one running. Paused between stage applies: straight to `aborted`.
   */
  async abort(stageId?: number): Promise<Strategy> {
    this.assertOpen();
    const s = this.require();
    const phase = s.applyPhase;
    const reject = (reason: string) => failedPrecondition(reason, { reason: "ABORT_REJECTED" });
    if (s.currentPhase !== "apply" || !["applying", "apply-failed", "apply-timeout"].includes(s.state)) {
      throw reject(stageId === undefined ? "apply not inprogress" : `apply not inprogress for stage id ${stageId}`);
    }
    const running = s.state === "applying" && phase.currentStage < phase.stopAtStage;
    if (stageId !== undefined && (!running || stageId !== phase.currentStage)) throw reject(`apply not inprogress for stage id ${stageId}`);
    const old = s.state;
    if (s.state === "applying" && !running) {
      // Paused between single-stage applies: nothing runs, nothing to undo.
      const t = now();
      phase.inprogress = false;
      phase.result = "aborted";
      phase.endDate = t;
      s.abortPhase = newPhase("abort");
      Object.assign(s.abortPhase, { result: "success", startDate: t, endDate: t });
      s.currentPhase = "abort";
      s.state = "aborted";
      await this.persist([stateEvent(old, "aborted", s.uuid)]);
      await this.setAlarm(null);
      return cloneStrategy(s);
    }
    s.abortRequested = true;
    s.state = "aborting";
    await this.persist([stateEvent(old, "aborting", s.uuid)]);
    await this.setAlarm("apply-aborting");
    this.kick();
    return cloneStrategy(s);
  }

  /**
   * Deletes the strategy (§3.3). Without `force` FAILED_PRECONDITION while building, applying
   * or aborting; with `force` the runner is stopped first. NOT_FOUND when none exists.
   */
  async delete(force = false): Promise<void> {
    this.assertOpen();
    const s = this.require();
    if (RUNNING_STATES.has(s.state) && !force) {
      throw failedPrecondition(`strategy delete not allowed while ${s.state}`, { reason: "STRATEGY_IN_PROGRESS" });
    }
    if (this.runner) {
      this.runAc.abort();
      await this.runner.catch(() => undefined);
    }
    if (this.s !== s) throw notFound(NO_STRATEGY_MESSAGE, { reason: "STRATEGY_NOT_FOUND" });
    this.s = undefined;
    await this.persist([stateEvent(s.state, "deleted", s.uuid)]);
    await this.setAlarm(null);
  }

  /** The current strategy (or undefined), then a snapshot after every change, until `signal` aborts. */
  async *watch(signal: AbortSignal): AsyncGenerator<Strategy | undefined> {
    const queue: (Strategy | undefined)[] = [];
    let wake: (() => void) | undefined;
    const listener = (s: Strategy | undefined) => {
      queue.push(s);
      if (queue.length > 1000) queue.shift();
      wake?.();
    };
    const onAbort = () => wake?.();
    this.watchers.add(listener);
    signal.addEventListener("abort", onAbort);
    try {
      yield this.current();
      while (!signal.aborted) {
        while (queue.length > 0 && !signal.aborted) yield queue.shift();
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (queue.length > 0 || signal.aborted) resolve();
        });
        wake = undefined;
      }
    } finally {
      this.watchers.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Stops the runner without changing the persisted strategy (a restart resumes it). */
  async close(): Promise<void> {
    this.closed = true;
    this.runAc.abort();
    await this.runner?.catch(() => undefined);
    await this.saveChain;
  }

  /** @internal Resolves when the background runner has nothing more to do. */
  async idle(): Promise<void> {
    while (this.runner) await this.runner.catch(() => undefined);
    await this.saveChain;
  }

  // ------------------------------------------------------------------ runner

  private assertOpen(): void {
    if (this.closed) throw failedPrecondition("orchestrator is shutting down", { reason: "SHUTTING_DOWN" });
  }

  private require(): Strategy {
    if (!this.s) throw notFound(NO_STRATEGY_MESSAGE, { reason: "STRATEGY_NOT_FOUND" });
    return this.s;
  }

  private kick(resumed = false): void {
    if (this.runner || this.closed) return;
    if (this.runAc.signal.aborted) this.runAc = new AbortController();
    const signal = this.runAc.signal;
    this.runner = (async () => {
      try {
        // After a controller restart the agents reconnect within seconds; a step resumed before
        // they are back would see hosts "change state" or be unreachable.
        if (resumed && this.o.port.awaitReconnect) await this.o.port.awaitReconnect(signal);
        while (!signal.aborted && (await this.step(signal))) {
          /* loop */
        }
      } catch (e) {
        if (!isAbortError(e)) this.o.log?.error("orchestration runner failed", { error: (e as Error)?.stack ?? String(e) });
      } finally {
        this.runner = undefined;
      }
    })();
  }

  /** Does the next piece of work; false when there is none. */
  private async step(signal: AbortSignal): Promise<boolean> {
    const s = this.s;
    if (!s) return false;
    switch (s.state) {
      case "building":
        await this.runBuild(s, signal);
        return true;
      case "applying":
        if (s.abortRequested) return this.toAborting(s);
        if (s.applyPhase.inprogress && s.applyPhase.currentStage < s.applyPhase.stopAtStage) {
          await this.runPhase(s, s.applyPhase, signal);
          return true;
        }
        return false;
      case "apply-failed":
      case "apply-timeout":
        return this.toAborting(s);
      case "aborting":
        if (s.currentPhase === "apply") {
          await this.startAbortPhase(s);
          return true;
        }
        await this.runPhase(s, s.abortPhase, signal);
        return true;
      default:
        return false;
    }
  }

  private async toAborting(s: Strategy): Promise<boolean> {
    const old = s.state;
    s.state = "aborting";
    s.abortRequested = true;
    await this.persist([stateEvent(old, "aborting", s.uuid)]);
    if (old === "applying") await this.setAlarm("apply-aborting");
    return true;
  }

  private freshBuildPhase(): StrategyPhase {
    const stage = newStage("sw-patch-query", [newStep("query-alarms"), newStep("query-sw-patches"), newStep("query-sw-patch-hosts")]);
    const phase = newPhase("build", [stage]);
    phase.stopAtStage = 1;
    phase.timeout = phaseTimeout(phase, 0, 1);
    phase.inprogress = true;
    phase.result = "inprogress";
    phase.startDate = now();
    return phase;
  }

  /** Build phase (§6): three query steps, then the checks and the apply-phase construction. */
  private async runBuild(s: Strategy, signal: AbortSignal): Promise<void> {
    const phase = s.buildPhase;
    const stage = phase.stages[0]!;
    const phaseDeadline = Date.now() + this.ms(phase.timeout);
    stage.inprogress = true;
    stage.result = "inprogress";
    if (!stage.startDate) stage.startDate = now();
    const snaps: ClusterSnapshot[] = [];
    let outcome: StepOutcome = { result: "success", reason: "" };
    for (stage.currentStep = 0; stage.currentStep < stage.totalSteps; stage.currentStep++) {
      const step = stage.steps[stage.currentStep]!;
      step.result = "wait";
      step.startDate = now();
      await this.persist([stepEvent(s, "build", stage, step)]);
      const limit = Math.min(this.ms(step.timeout), phaseDeadline - Date.now());
      outcome = await this.withTimer(limit, signal, async (sig) => {
        snaps.push(await this.o.port.snapshot(sig));
        return { result: "success", reason: "" };
      });
      step.result = outcome.result;
      step.reason = outcome.reason;
      step.endDate = now();
      if (!isSuccess(outcome.result)) break;
      await this.persist([stepEvent(s, "build", stage, step)]);
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
      const built = buildApplyStages(s, merged, this.o.extraIgnoredAlarms);
      s.singleController = merged.singleController;
      if (built.ok) {
        phase.result = "success";
        s.applyPhase = newPhase("apply", built.stages);
        s.state = "ready-to-apply";
      } else {
        phase.result = "failed";
        phase.reason = built.reason;
        s.state = "build-failed";
      }
    }
    await this.persist([stepEvent(s, "build", stage, stage.steps[Math.min(stage.currentStep, stage.totalSteps - 1)]!), stateEvent(old, s.state, s.uuid, phase.reason)]);
  }

  /** Runs `phase` (apply or abort) from its current stage up to its stop-at-stage. */
  private async runPhase(s: Strategy, phase: StrategyPhase, signal: AbortSignal): Promise<void> {
    const isApply = phase.name === "apply";
    const phaseDeadline = Date.now() + this.ms(phase.timeout);
    while (phase.currentStage < phase.stopAtStage) {
      if (isApply && s.abortRequested) {
        // Aborted between stages: later stages never start.
        this.finishPhase(phase, "aborted", "");
        await this.persist([]);
        return;
      }
      const stage = phase.stages[phase.currentStage]!;
      const stageDeadline = Date.now() + this.ms(stage.timeout);
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
        await this.persist([stepEvent(s, phase.name, stage, step)]);
        await failpointAsync(`strategy:${phase.name}-step-started`);
        const outcome = await this.execute(s, step, signal, stageDeadline, phaseDeadline);
        step.result = outcome.result;
        step.reason = outcome.reason;
        step.endDate = now();
        if (!isSuccess(outcome.result)) {
          failure = outcome;
          await this.persist([stepEvent(s, phase.name, stage, step)]);
          break;
        }
        stage.currentStep++;
        await this.persist([stepEvent(s, phase.name, stage, step)]);
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
        this.finishPhase(phase, result, reason);
        const old = s.state;
        if (isApply && !stopped) {
          s.state = result === "timed-out" ? "apply-timeout" : "apply-failed";
          await this.persist([stateEvent(old, s.state, s.uuid, reason)]);
          await this.setAlarm("apply-failed");
        } else if (!isApply) {
          s.state = result === "timed-out" ? "abort-timeout" : "abort-failed";
          s.abortRequested = false;
          await this.persist([stateEvent(old, s.state, s.uuid, reason)]);
        } else {
          await this.persist([]);
        }
        return;
      }
      stage.inprogress = false;
      stage.result = "success";
      stage.endDate = now();
      phase.currentStage++;
      // After the last stage the phase result is saved together with this (one snapshot).
      if (phase.currentStage < phase.totalStages) await this.persist([]);
    }
    if (phase.currentStage < phase.totalStages) return; // paused after an apply-stage
    this.finishPhase(phase, "success", "");
    const old = s.state;
    if (isApply) {
      s.state = "applied";
      await this.persist([stateEvent(old, "applied", s.uuid)]);
      await this.setAlarm(null);
    } else {
      s.state = "aborted";
      s.abortRequested = false;
      await this.persist([stateEvent(old, "aborted", s.uuid)]);
      if (s.applyPhase.result === "aborted") await this.setAlarm(null);
    }
  }

  private finishPhase(phase: StrategyPhase, result: StrategyResult, reason: string): void {
    phase.inprogress = false;
    phase.result = result;
    phase.reason = reason;
    phase.endDate = now();
  }

  /**
   * Builds the abort phase from the stage that was running (§11): walking its steps from the
   * current one back to the first, lock-hosts → unlock-hosts, stop-instances →
   * start-instances, disable-host-services → enable-host-services.
   */
  private async startAbortPhase(s: Strategy): Promise<void> {
    const apply = s.applyPhase;
    if (apply.inprogress) {
      // Aborted before the runner reached a step boundary (e.g. after a restart).
      const stage = apply.stages[apply.currentStage];
      if (stage && stage.inprogress) {
        stage.inprogress = false;
        stage.result = "aborted";
        stage.endDate = now();
      }
      this.finishPhase(apply, "aborted", "");
    }
    const undo: StrategyStep[] = [];
    const stage = apply.stages[apply.currentStage];
    if (stage) {
      for (let i = Math.min(stage.currentStep, stage.totalSteps - 1); i >= 0; i--) {
        const st = stage.steps[i]!;
        if (st.result === "initial") continue;
        const hosts = st.hosts.map((h, k) => ({ hostname: h, uuid: st.entityType === "hosts" ? st.entityUuids[k] ?? "" : "" }));
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
    await this.persist([]);
  }

  private execute(s: Strategy, step: StrategyStep, signal: AbortSignal, stageDeadline: number, phaseDeadline: number): Promise<StepOutcome> {
    const backstop = Math.min(stageDeadline, phaseDeadline) - Date.now();
    // system-stabilize: timer expiry is success, so it runs on its own wait, bounded by the backstops only.
    const own = step.name === "system-stabilize" ? Number.POSITIVE_INFINITY : this.ms(step.timeout);
    const limit = Math.min(own, backstop);
    return this.withTimer(
      limit,
      signal,
      (sig) =>
        runStep(step, {
          port: this.o.port,
          signal: sig,
          ms: (sec) => this.ms(sec),
          restriction: s.alarmRestrictions,
          extraIgnoredAlarms: this.o.extraIgnoredAlarms ?? [],
          auditIntervalS: this.auditIntervalS,
          now: () => new Date(),
        }),
      own > backstop ? "timeout" : "",
    );
  }

  /** Runs `fn` with a timer: expiry aborts it and yields `timed-out`; the engine signal propagates as AbortError. */
  private async withTimer(limitMs: number, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<StepOutcome>, timeoutReason = ""): Promise<StepOutcome> {
    const ac = new AbortController();
    // A parallel stage watches one install per host on this signal (up to 100).
    setMaxListeners(0, ac.signal);
    const onAbort = () => ac.abort();
    signal.addEventListener("abort", onAbort);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<StepOutcome>((resolve) => {
      timer = setTimeout(() => {
        ac.abort();
        resolve({ result: "timed-out", reason: timeoutReason });
      }, Math.max(0, Math.min(limitMs, 2_147_000_000)));
    });
    try {
      const run = fn(ac.signal).catch((e: unknown): StepOutcome => {
        if (isAbortError(e) || ac.signal.aborted) {
          if (signal.aborted) throw e;
          return { result: "timed-out", reason: timeoutReason };
        }
        return { result: "failed", reason: (e as Error)?.message ?? String(e) };
      });
      const outcome = await Promise.race([run, timedOut]);
      if (signal.aborted) throw Object.assign(new Error("The operation has been aborted"), { name: "AbortError" });
      return outcome;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  private ms(seconds: number): number {
    return seconds * 1000 * this.scale;
  }

  private async setAlarm(alarm: OrchestrationAlarm): Promise<void> {
    try {
      await this.o.port.setOrchestrationAlarm?.(alarm);
    } catch (e) {
      this.o.log?.warn("orchestration alarm update failed", { alarm, error: (e as Error)?.message });
    }
  }

  /** Saves the strategy (in call order) with its events, then notifies watchers. */
  private persist(events: NewEvent[]): Promise<void> {
    const s = this.s;
    if (s) refreshComputed(s);
    const copy = s ? cloneStrategy(s) : undefined;
    const p = this.saveChain.then(async () => {
      await this.o.persistence.save(copy, events);
      for (const w of this.watchers) w(copy ? cloneStrategy(copy) : undefined);
    });
    this.saveChain = p.catch((e: unknown) => this.o.log?.error("strategy save failed", { error: (e as Error)?.message }));
    return p;
  }
}

function stateEvent(oldState: string, newState: string, uuid: string, message = ""): NewEvent {
  return { kind: "strategy.state", oldState, newState, operationId: uuid, message };
}

function stepEvent(s: Strategy, phase: string, stage: StrategyStage, step: StrategyStep): NewEvent {
  return {
    kind: "strategy.step",
    operationId: s.uuid,
    hostname: step.hosts.join(","),
    newState: step.result,
    message: `${phase} stage ${stage.stageId} step ${step.stepId} ${step.name}${step.reason ? `: ${step.reason}` : ""}`,
  };
}

/**
 * Applies the reference defaults and the VIM's normalisation (§3.1) to create options.
 * INVALID_ARGUMENT "Invalid value for max-parallel-worker-hosts" outside 2..100.
 */
export function normalizeOptions(o: Partial<StrategyOptions>): StrategyOptions {
  const applyType = (v: string | undefined, d: StrategyOptions["controllerApplyType"]) =>
    v === undefined ? d : v === "serial" || v === "parallel" ? v : "ignore";
  const max = o.maxParallelWorkerHosts ?? DEFAULT_OPTIONS.maxParallelWorkerHosts;
  if (!Number.isInteger(max) || max < MIN_PARALLEL_WORKER_HOSTS || max > MAX_PARALLEL_WORKER_HOSTS) {
    throw invalidArgument("Invalid value for max-parallel-worker-hosts", { reason: "INVALID_MAX_PARALLEL" });
  }
  return {
    controllerApplyType: applyType(o.controllerApplyType, DEFAULT_OPTIONS.controllerApplyType),
    storageApplyType: applyType(o.storageApplyType, DEFAULT_OPTIONS.storageApplyType),
    workerApplyType: applyType(o.workerApplyType, DEFAULT_OPTIONS.workerApplyType),
    swiftApplyType: applyType(o.swiftApplyType, DEFAULT_OPTIONS.swiftApplyType),
    maxParallelWorkerHosts: max,
    defaultInstanceAction: o.defaultInstanceAction === undefined ? DEFAULT_OPTIONS.defaultInstanceAction : o.defaultInstanceAction === "migrate" ? "migrate" : "stop-start",
    alarmRestrictions: o.alarmRestrictions === undefined ? DEFAULT_OPTIONS.alarmRestrictions : o.alarmRestrictions === "strict" ? "strict" : "relaxed",
  };
}
