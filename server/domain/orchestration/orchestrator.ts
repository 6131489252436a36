import { randomUUID } from "node:crypto";
import { isAbortError } from "abort-controller-x";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { NewEvent } from "../events/event-log.js";
import type { Logger } from "../../lib/log.js";
import { cloneStrategy, newPhase, phaseTimeout, type PlanOptions, type RolloutOptions, type Strategy, type StrategyOptions } from "./model.js";
import { newRolloutState, normalizeRolloutOptions } from "./rollout-options.js";
import { pauseRejection, pauseStrategy, resumeRejection, resumeStrategy } from "./pause.js";
import type { StrategyPersistence } from "./persistence.js";
import { freshBuildPhase, newStrategy, now } from "./phases.js";
import { abortRejection, applyRejection, deleteRejection } from "./strategy-actions.js";
import type { ClusterPort, OrchestrationAlarm } from "./ports.js";
import { stateEvent } from "./strategy-events.js";
import { StrategyJournal } from "./strategy-journal.js";
import { normalizeOptions } from "./strategy-options.js";
import { StrategyRunner } from "./strategy-runner.js";
import { systemClock, type Clock } from "./clock.js";
import { planHashRejection } from "./plan-hash.js";
import { rehearseStrategy, type RehearsalReport, type RehearseOptions } from "./rehearse.js";
import { createWindowGate } from "./window-gate.js";
import { checkWindows } from "./windows.js";

export { normalizeOptions } from "./strategy-options.js";

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
  /** Snapshots one watcher may have waiting before it is ended as fallen behind (`--watch-buffer`). Default 1024. */
  watchBuffer?: number;
  /** PLAN: the wall clock of maintenance windows (tests drive a fake one). Default the system clock. */
  clock?: Clock;
}

const ALREADY_EXISTS_MESSAGE = "strategy already exists of type:sw-patch";
/** NOT_FOUND message when no strategy exists (the CLI's "No strategy available"). */
export const NO_STRATEGY_MESSAGE = "No strategy available";

/**
 * The sw-patch orchestration engine (spec orchestration §4, §6–§13): one strategy at a time,
 * built from a cluster snapshot, applied stage by stage and step by step, aborted with
 * compensation, persisted after every change and resumed after a restart. This class holds the
 * strategy and answers the commands; the background work is `StrategyRunner` (strategy-runner.ts),
 * saving and watching is `StrategyJournal` (strategy-journal.ts).
 *
 * INVARIANTS: at most one background runner; every mutation of the strategy happens in a
 * synchronous section (no await between a state check and the change it guards) and is
 * followed by `persist()`, which saves in call order and then notifies watchers; callers only
 * ever see deep copies, watchers share one read-only (frozen) snapshot per save.
 */
export class Orchestrator {
  private s: Strategy | undefined;
  private runner: Promise<void> | undefined;
  private runAc = new AbortController();
  private readonly journal: StrategyJournal;
  private readonly engine: StrategyRunner;
  private closed = false;
  private readonly scale: number;
  private readonly auditIntervalS: number;

  constructor(private readonly o: OrchestratorOptions) {
    this.scale = o.timeScale ?? 1;
    if (!(this.scale > 0)) throw invalidArgument("time scale must be positive");
    this.auditIntervalS = o.auditIntervalS ?? 10;
    this.journal = new StrategyJournal(o.persistence, o.log, o.watchBuffer);
    this.engine = new StrategyRunner({
      port: o.port,
      extraIgnoredAlarms: o.extraIgnoredAlarms,
      auditIntervalS: this.auditIntervalS,
      ms: (seconds) => this.ms(seconds),
      persist: (events) => this.persist(events),
      setAlarm: (alarm) => this.setAlarm(alarm),
      windowGate: createWindowGate({ clock: o.clock ?? systemClock, persist: () => this.persist([]) }),
    });
  }

  /** Loads a persisted strategy and carries on with it (build re-run, apply/abort resumed at the current step); again on each takeover. */
  async init(): Promise<void> {
    if (this.runner) await this.deactivate();
    this.s = await this.o.persistence.load();
    const s = this.s;
    if (!s) return;
    if (s.state === "building") {
      s.buildPhase = freshBuildPhase();
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
  async create(options: Partial<StrategyOptions> & PlanOptions = {}, rollout: Partial<RolloutOptions> = {}): Promise<Strategy> {
    this.assertOpen();
    if (this.s) throw alreadyExists(ALREADY_EXISTS_MESSAGE, { reason: "STRATEGY_EXISTS" });
    const opts = normalizeOptions(options);
    const ro = normalizeRolloutOptions(rollout);
    const windows = checkWindows(options.windows ?? [], options.windowTz, options.cutoffMinutes ?? 0);
    const s = newStrategy(randomUUID(), opts);
    s.rollout = newRolloutState(ro);
    if (windows.specs.length > 0) Object.assign(s, { windows: windows.specs.map((w) => w.text), windowTz: windows.tz, cutoffMinutes: options.cutoffMinutes ?? 0 });
    this.s = s;
    await this.persist([stateEvent("", "building", s.uuid)]);
    this.kick();
    return cloneStrategy(s);
  }

  /**
   * apply-all (`stageId` undefined) or apply-stage N (§10). FAILED_PRECONDITION with the
   * reference's reason when rejected; NOT_FOUND when no strategy exists. With `planHash` (PLAN),
   * also FAILED_PRECONDITION (PLAN_DRIFTED) when the hash differs or the cluster drifted since the
   * build, naming the drift (plan-hash.ts).
   */
  async apply(stageId?: number, planHash?: string): Promise<Strategy> {
    this.assertOpen();
    this.require();
    const snap = planHash === undefined ? undefined : await this.o.port.snapshot(this.runAc.signal);
    const s = this.require();
    const phase = s.applyPhase;
    const rejected = applyRejection(s, stageId);
    if (rejected !== undefined) throw failedPrecondition(rejected, { reason: "APPLY_REJECTED" });
    const drifted = snap && planHash !== undefined ? planHashRejection(s, planHash, snap) : undefined;
    if (drifted !== undefined) throw failedPrecondition(drifted, { reason: "PLAN_DRIFTED" });
    const stopAt = stageId === undefined ? phase.totalStages : stageId + 1;
    const old = s.state;
    phase.stopAtStage = stopAt;
    phase.timeout = phaseTimeout(phase, phase.currentStage, stopAt);
    phase.inprogress = true;
    phase.result = "inprogress";
    if (!phase.startDate) phase.startDate = now();
    if (s.rollout && !s.rollout.applyStartedAt) s.rollout.applyStartedAt = now();
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
    const rejected = abortRejection(s, stageId);
    if (rejected !== undefined) throw failedPrecondition(rejected, { reason: "ABORT_REJECTED" });
    const running = s.state === "applying" && phase.currentStage < phase.stopAtStage;
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
   * ROLLOUT (issue 20): pauses the apply at the next stage boundary (state `paused` once there; at
   * once when no stage runs). FAILED_PRECONDITION unless applying.
   */
  async pause(): Promise<Strategy> {
    this.assertOpen();
    const s = this.require();
    const rejected = pauseRejection(s);
    if (rejected !== undefined) throw failedPrecondition(rejected, { reason: "PAUSE_REJECTED" });
    const events = pauseStrategy(s);
    await this.persist(events);
    return cloneStrategy(s);
  }

  /**
   * ROLLOUT: resumes a paused (or pausing) apply. After a stop by the budget, the failures so far
   * are accepted (a new failure stops it again); after a failed step, its stage runs again from its
   * first step. FAILED_PRECONDITION unless paused.
   */
  async resume(): Promise<Strategy> {
    this.assertOpen();
    const s = this.require();
    const rejected = resumeRejection(s);
    if (rejected !== undefined) throw failedPrecondition(rejected, { reason: "RESUME_REJECTED" });
    const events = resumeStrategy(s);
    await this.persist(events);
    await this.setAlarm("apply-inprogress");
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
    const rejected = deleteRejection(s, force);
    if (rejected !== undefined) throw failedPrecondition(rejected, { reason: "STRATEGY_IN_PROGRESS" });
    if (this.runner) {
      this.runAc.abort();
      await this.runner.catch(() => undefined);
    }
    if (this.s !== s) throw notFound(NO_STRATEGY_MESSAGE, { reason: "STRATEGY_NOT_FOUND" });
    this.s = undefined;
    await this.persist([stateEvent(s.state, "deleted", s.uuid)]);
    await this.setAlarm(null);
  }

  /**
   * PLAN: rehearses the built strategy (rehearse.ts) against simulated copies of the inventory now;
   * nothing real is touched. FAILED_PRECONDITION when it is not built.
   */
  async rehearse(o: RehearseOptions): Promise<RehearsalReport> {
    this.assertOpen();
    const s = cloneStrategy(this.require());
    const snap = await this.o.port.snapshot(this.runAc.signal);
    return rehearseStrategy(
      s,
      snap,
      o,
      (port, persistence) => new Orchestrator({ port, persistence, timeScale: 1, auditIntervalS: this.auditIntervalS, extraIgnoredAlarms: this.o.extraIgnoredAlarms }),
    );
  }

  /** The current strategy (or undefined), then a snapshot after every change, until `signal` aborts. */
  watch(signal: AbortSignal): AsyncGenerator<Strategy | undefined> {
    return this.journal.watch(() => this.current(), signal);
  }

  /** Stops the runner without changing the persisted strategy (a restart resumes it). */
  async close(): Promise<void> {
    this.closed = true;
    this.runAc.abort();
    await this.runner?.catch(() => undefined);
    await this.journal.settled();
  }

  /**
   * A pair member lost its term: the runner stops (the strategy stays as persisted, at its step, for the next active
   * to resume) and memory forgets it; {@link init} on the next takeover loads it again. No writes.
   */
  async deactivate(): Promise<void> {
    this.runAc.abort();
    await this.runner?.catch(() => undefined);
    await this.journal.settled();
    this.s = undefined;
  }

  /** @internal Resolves when the background runner has nothing more to do. */
  async idle(): Promise<void> {
    while (this.runner) await this.runner.catch(() => undefined);
    await this.journal.settled();
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
        while (!signal.aborted && (await this.engine.step(this.s, signal))) {
          /* loop */
        }
      } catch (e) {
        if (!isAbortError(e)) this.o.log?.error("orchestration runner failed", { error: (e as Error)?.stack ?? String(e) });
      } finally {
        this.runner = undefined;
      }
    })();
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
    return this.journal.save(this.s, events);
  }
}
