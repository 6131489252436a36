/**
 * The sw-patch strategy model (spec orchestration §1, §3.4, §4): a strategy with three phases
 * (build, apply, abort), each an ordered list of stages, each an ordered list of steps. Names,
 * states, results and timeouts are the reference's; timeouts are in reference seconds (the
 * engine scales them by its time factor, `show` reports them unscaled). Dates are ISO strings
 * or "" while unset. The whole object is persisted as JSON after every change.
 */
import type { StoredPlanBasis } from "./plan-hash.js";

/** Result of a phase, stage or step (§1). */
export type StrategyResult = "initial" | "inprogress" | "wait" | "success" | "degraded" | "failed" | "timed-out" | "aborted";

/** Strategy state (§1, §4.1). */
export type StrategyState =
  | "initial"
  | "building"
  | "build-failed"
  | "build-timeout"
  | "ready-to-apply"
  | "applying"
  | "apply-failed"
  | "apply-timeout"
  | "applied"
  | "aborting"
  | "abort-failed"
  | "abort-timeout"
  | "aborted"
  // ROLLOUT (issue 20): safer rollouts.
  | "paused"
  | "rolling-back"
  | "rolled-back"
  | "rollback-failed";

export type PhaseName = "build" | "apply" | "abort" | "rollback";
export type CurrentPhase = "initial" | PhaseName;
export type ApplyTypeName = "serial" | "parallel" | "ignore";
export type InstanceActionName = "migrate" | "stop-start";
export type AlarmRestrictionName = "strict" | "relaxed";

export type StepName =
  | "query-alarms"
  | "query-sw-patches"
  | "query-sw-patch-hosts"
  | "swact-hosts"
  | "lock-hosts"
  | "sw-patch-hosts"
  | "system-stabilize"
  | "unlock-hosts"
  | "reboot-hosts"
  | "wait-alarms-clear"
  | "wait-data-sync"
  | "stop-instances"
  | "start-instances"
  | "migrate-instances-from-host"
  | "disable-host-services"
  | "enable-host-services"
  // ROLLOUT (issue 20): the canary's soak and the rollback's patch removal.
  | "soak"
  | "remove-sw-patches";

export type StageName = "sw-patch-query" | "sw-patch-controllers" | "sw-patch-storage-hosts" | "sw-patch-worker-hosts" | "sw-patch-rollback";

/** Step timeouts in seconds (§13); system-stabilize and wait-alarms-clear vary per use. */
export const STEP_TIMEOUT_S: Readonly<Record<StepName, number>> = Object.freeze({
  "query-alarms": 60,
  "query-sw-patches": 60,
  "query-sw-patch-hosts": 60,
  "swact-hosts": 900,
  "lock-hosts": 900,
  "sw-patch-hosts": 1800,
  "system-stabilize": 30,
  "unlock-hosts": 1800,
  "reboot-hosts": 900,
  "wait-alarms-clear": 2400,
  "wait-data-sync": 1800,
  "stop-instances": 900,
  "start-instances": 900,
  "migrate-instances-from-host": 1800,
  "disable-host-services": 180,
  "enable-host-services": 180,
  soak: 60,
  "remove-sw-patches": 300,
});

/** An instance a step acts on, with the host it was on when the strategy was built. */
export interface StepInstance {
  uuid: string;
  name: string;
  host: string;
}

export interface StrategyStep {
  stepId: number;
  name: StepName;
  /** "hosts", "instances" or "". */
  entityType: "hosts" | "instances" | "";
  entityNames: string[];
  entityUuids: string[];
  /** Seconds (reference value). */
  timeout: number;
  result: StrategyResult;
  reason: string;
  startDate: string;
  endDate: string;
  /** Hosts the step acts on (for instance steps: the hosts holding the instances). Not shown. */
  hosts: string[];
  /** Instance steps: the instances and where they were at build time. Not shown. */
  instances?: StepInstance[];
  /** lock-hosts: wait for "disabled" (false on AIO-SX, which waits 15 s instead). */
  waitDisabled?: boolean;
  /** While the step runs: when it times out (ISO time, real clock), for "time left" displays. Not on the reference's wire. */
  deadline?: string;
}

export interface StrategyStage {
  stageId: number;
  name: StageName;
  /** Seconds: sum of step timeouts + 1 (§7.6). */
  timeout: number;
  totalSteps: number;
  currentStep: number;
  inprogress: boolean;
  result: StrategyResult;
  reason: string;
  startDate: string;
  endDate: string;
  steps: StrategyStep[];
}

export interface StrategyPhase {
  name: PhaseName;
  /** Seconds; 0 until the phase starts (§3.4, §7.6). */
  timeout: number;
  totalStages: number;
  currentStage: number;
  /** Exclusive bound: the phase stops before this stage index. 0 until the phase starts. */
  stopAtStage: number;
  inprogress: boolean;
  /** Computed (§4.3); refreshed on every change. */
  completionPercentage: number;
  result: StrategyResult;
  reason: string;
  /** Error details (2024 `response` field); kept for REST, always "" here. */
  response: string;
  startDate: string;
  endDate: string;
  stages: StrategyStage[];
}

/** Create options after defaults and the VIM's normalisation (§2.1, §3.1). */
export interface StrategyOptions {
  controllerApplyType: ApplyTypeName;
  storageApplyType: ApplyTypeName;
  workerApplyType: ApplyTypeName;
  swiftApplyType: ApplyTypeName;
  /** 2..100, default 2. */
  maxParallelWorkerHosts: number;
  defaultInstanceAction: InstanceActionName;
  alarmRestrictions: AlarmRestrictionName;
}

export interface Strategy extends StrategyOptions {
  /** Persisted format version. */
  version: 1;
  uuid: string;
  name: "sw-patch";
  state: StrategyState;
  currentPhase: CurrentPhase;
  /** Computed (§4.3): that of the current phase, 0 when current-phase is initial. */
  currentPhaseCompletionPercentage: number;
  buildPhase: StrategyPhase;
  applyPhase: StrategyPhase;
  abortPhase: StrategyPhase;
  /** Engine bookkeeping: an abort was accepted while a step was running. Not shown. */
  abortRequested?: boolean;
  /** Engine bookkeeping: single-controller (AIO-SX) system at build time. Not shown. */
  singleController?: boolean;

  // PLAN (issue 20): plan hash and maintenance windows (plan-hash.ts, windows.ts).
  /** sha256 (hex) of the canonical plan and its basis; absent until built. */
  planHash?: string;
  /** What the plan was built from (hosts, patches, alarms), for the drift check of `apply --plan-hash`. Not shown. */
  planBasis?: StoredPlanBasis;
  /** Maintenance windows ("Sat,Sun 02:00-06:00"); none = always. */
  windows?: string[];
  /** IANA zone of the windows; default UTC. */
  windowTz?: string;
  /** No host starts later than this many minutes before its window's end. */
  cutoffMinutes?: number;
  /** "waiting for window Sat 02:00 UTC", "in window until 06:00 UTC", or absent. */
  windowState?: string;
  /** ISO time the next window opens while waiting for it, else "". */
  nextWindowStart?: string;
  /** ROLLOUT (issue 20): error budget, canary, health gate, on-failure and rollback (rollout.ts). Absent in documents saved before. */
  rollout?: RolloutState;
}

/** Create options of the plan feature (issue 20): maintenance windows. */
export interface PlanOptions {
  windows?: string[];
  windowTz?: string;
  cutoffMinutes?: number;
}

/** The reference defaults (§2.1). */
export const DEFAULT_OPTIONS: Readonly<StrategyOptions> = Object.freeze({
  controllerApplyType: "serial",
  storageApplyType: "serial",
  workerApplyType: "serial",
  swiftApplyType: "ignore",
  maxParallelWorkerHosts: 2,
  defaultInstanceAction: "stop-start",
  alarmRestrictions: "strict",
});

export const MIN_PARALLEL_WORKER_HOSTS = 2;

// ------------------------------------------------------------------ ROLLOUT (issue 20)

export type HealthGateName = "alarms" | "agents" | "both";
export type OnFailureName = "pause" | "abort" | "rollback";

/** The safer-rollout create options (docs/orchestration.md "Safer rollouts"). */
export interface RolloutOptions {
  /** "N" or "P%"; "" = 0 (the first failure stops the strategy). */
  maxFailures: string;
  /** No budget decision before this many hosts have finished. */
  minExecuted: number;
  /** The first N hosts in the strategy's order form the canary stage(s) (0: none). */
  canary: number;
  /** Or these hosts (by name). */
  canaryHosts: string[];
  /** Seconds (reference) the health gate must stay green after the canary. */
  soakSeconds: number;
  healthGate: HealthGateName;
  onFailure: OnFailureName;
}

/** A health gate verdict the engine recorded (fail and inconclusive ones; the last pass too). */
export interface GateVerdict {
  /** ISO time. */
  at: string;
  gate: HealthGateName;
  verdict: "pass" | "fail" | "inconclusive";
  evidence: string;
  /** The apply stage it was taken after (or during). */
  stageId: number;
}

/** What the engine keeps about the safer rollout of a strategy (persisted with it). */
export interface RolloutState extends RolloutOptions {
  /** max(N, ceil(P% × hosts)) once built. */
  failureBudget: number;
  /** Hosts in the apply phase. */
  hostsTotal: number;
  /** Failures spent (never stops counting). */
  failures: number;
  /** Hosts finished (succeeded or failed). */
  executed: number;
  /** hostname → how its apply ended. */
  hostOutcomes: Record<string, "success" | "failed">;
  /** Apply stages that form the canary (0..canaryStages-1). */
  canaryStages: number;
  /** Patches the strategy rolls out (Partial-Apply at build): what a rollback removes. */
  patchIds: string[];
  gateVerdicts: GateVerdict[];
  /** The strategy is paused or pausing (at the next stage boundary). */
  paused: boolean;
  /** Why the budget or the gate stopped the strategy ("" while not stopped). */
  stopReason: string;
  /** Failures already accepted by a resume (the budget stops again only on a new failure). */
  acceptedFailures: number;
  /** An automatic stop asked for a rollback once the abort phase has run. */
  rollbackPending: boolean;
  /** A failing verdict of the background gate, acted on at the next stage boundary. */
  pendingGateFailure?: string;
  /** ISO time the apply started (the alarm gate looks at alarms raised since). */
  applyStartedAt: string;
  rollbackPhase: StrategyPhase;
}
export const MAX_PARALLEL_WORKER_HOSTS = 100;

/** Results that end a step, stage or phase. */
export const DONE_RESULTS: ReadonlySet<StrategyResult> = new Set(["success", "degraded", "failed", "timed-out", "aborted"]);

export function isSuccess(r: StrategyResult): boolean {
  return r === "success" || r === "degraded";
}

export function newStep(
  name: StepName,
  opts: {
    hosts?: readonly { hostname: string; uuid: string }[];
    instances?: readonly { uuid: string; name: string; host: string }[];
    timeout?: number;
    waitDisabled?: boolean;
  } = {},
): StrategyStep {
  const step: StrategyStep = {
    stepId: 0,
    name,
    entityType: "",
    entityNames: [],
    entityUuids: [],
    timeout: opts.timeout ?? STEP_TIMEOUT_S[name],
    result: "initial",
    reason: "",
    startDate: "",
    endDate: "",
    hosts: [],
  };
  if (opts.instances) {
    step.entityType = "instances";
    step.entityNames = opts.instances.map((i) => i.name);
    step.entityUuids = opts.instances.map((i) => i.uuid);
    step.instances = opts.instances.map((i) => ({ uuid: i.uuid, name: i.name, host: i.host }));
    step.hosts = [...new Set((opts.hosts ?? []).map((h) => h.hostname).concat(opts.instances.map((i) => i.host)))];
  } else if (opts.hosts) {
    step.entityType = "hosts";
    step.entityNames = opts.hosts.map((h) => h.hostname);
    step.entityUuids = opts.hosts.map((h) => h.uuid);
    step.hosts = opts.hosts.map((h) => h.hostname);
  }
  if (opts.waitDisabled !== undefined) step.waitDisabled = opts.waitDisabled;
  return step;
}

export function newStage(name: StageName, steps: StrategyStep[]): StrategyStage {
  steps.forEach((s, i) => (s.stepId = i));
  return {
    stageId: 0,
    name,
    timeout: steps.reduce((t, s) => t + s.timeout, 0) + 1,
    totalSteps: steps.length,
    currentStep: 0,
    inprogress: false,
    result: "initial",
    reason: "",
    startDate: "",
    endDate: "",
    steps,
  };
}

export function newPhase(name: PhaseName, stages: StrategyStage[] = []): StrategyPhase {
  stages.forEach((s, i) => (s.stageId = i));
  return {
    name,
    timeout: 0,
    totalStages: stages.length,
    currentStage: 0,
    stopAtStage: 0,
    inprogress: false,
    completionPercentage: 100,
    result: "initial",
    reason: "",
    response: "",
    startDate: "",
    endDate: "",
    stages,
  };
}

/** Phase timeout for stages [from, to): sum of stage timeouts + 1, or 0 if none (§7.6). */
export function phaseTimeout(phase: StrategyPhase, from: number, to: number): number {
  const t = phase.stages.slice(from, to).reduce((sum, s) => sum + s.timeout, 0);
  return t > 0 ? t + 1 : 0;
}

/** §4.3: done steps ×100 ÷ all steps, floored, while the phase runs; otherwise 100. */
export function completionPercentage(phase: StrategyPhase): number {
  if (!phase.inprogress) return 100;
  let all = 0;
  let done = 0;
  for (const stage of phase.stages) {
    for (const step of stage.steps) {
      all++;
      if (DONE_RESULTS.has(step.result)) done++;
    }
  }
  return all === 0 ? 100 : Math.floor((done * 100) / all);
}

/** Recomputes the derived percentages in place. */
export function refreshComputed(s: Strategy): void {
  for (const p of [s.buildPhase, s.applyPhase, s.abortPhase]) p.completionPercentage = completionPercentage(p);
  if (s.rollout) s.rollout.rollbackPhase.completionPercentage = completionPercentage(s.rollout.rollbackPhase);
  const rollback = s.rollout?.rollbackPhase ?? s.abortPhase;
  s.currentPhaseCompletionPercentage =
    s.currentPhase === "initial" ? 0 : { build: s.buildPhase, apply: s.applyPhase, abort: s.abortPhase, rollback }[s.currentPhase].completionPercentage;
}

/** A deep copy safe to hand out (callers may not mutate engine state). */
export function cloneStrategy(s: Strategy): Strategy {
  return JSON.parse(JSON.stringify(s)) as Strategy;
}
