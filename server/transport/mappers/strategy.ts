import {
  AlarmRestrictions,
  ApplyType,
  InstanceAction,
  type CreateStrategyRequest,
  type RehearseStrategyResponse,
  type Strategy as ProtoStrategy,
  type StrategyPhase as ProtoPhase,
  type StrategyStage as ProtoStage,
  type StrategyStep as ProtoStep,
  type StrategyGateVerdict as ProtoGateVerdict,
} from "../../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { invalidArgument } from "../../domain/errors.js";
import { DEFAULT_ROLLOUT, newRolloutState } from "../../domain/orchestration/rollout-options.js";
import {
  type GateVerdict,
  type HealthGateName,
  type OnFailureName,
  type RolloutOptions,
  MAX_PARALLEL_WORKER_HOSTS,
  MIN_PARALLEL_WORKER_HOSTS,
  type ApplyTypeName,
  type PlanOptions,
  type Strategy,
  type StrategyOptions,
  type StrategyPhase,
  type StrategyResult,
  type StrategyStage,
  type StrategyStep,
} from "../../domain/orchestration/model.js";
import type { RehearsalReport } from "../../domain/orchestration/rehearse.js";

// ------------------------------------------------------------------ gRPC requests

const APPLY_TYPES: Record<number, ApplyTypeName | undefined> = {
  [ApplyType.APPLY_TYPE_UNSPECIFIED]: undefined,
  [ApplyType.APPLY_TYPE_SERIAL]: "serial",
  [ApplyType.APPLY_TYPE_PARALLEL]: "parallel",
  [ApplyType.APPLY_TYPE_IGNORE]: "ignore",
};

function applyType(v: number, field: string, allowed: readonly ApplyTypeName[]): ApplyTypeName | undefined {
  if (!(v in APPLY_TYPES)) throw invalidArgument(`${field}: unknown apply type ${v}`);
  const name = APPLY_TYPES[v];
  if (name !== undefined && !allowed.includes(name)) throw invalidArgument(`${field}: must be one of ${allowed.join(", ")}, got ${name}`);
  return name;
}

/**
 * Validates a CreateStrategyRequest and turns it into engine options (unset fields take the
 * reference defaults in the engine). INVALID_ARGUMENT naming the field.
 */
export function createOptionsFromRequest(req: CreateStrategyRequest): Partial<StrategyOptions> & PlanOptions {
  const out: Partial<StrategyOptions> & PlanOptions = {};
  // The API accepts parallel for controllers (the build then fails, spec §3.1).
  const c = applyType(req.controllerApplyType, "controller_apply_type", ["serial", "parallel", "ignore"]);
  const st = applyType(req.storageApplyType, "storage_apply_type", ["serial", "parallel", "ignore"]);
  const w = applyType(req.workerApplyType, "worker_apply_type", ["serial", "parallel", "ignore"]);
  const sw = applyType(req.swiftApplyType, "swift_apply_type", ["serial", "parallel", "ignore"]);
  if (c) out.controllerApplyType = c;
  if (st) out.storageApplyType = st;
  if (w) out.workerApplyType = w;
  if (sw) out.swiftApplyType = sw;
  if (req.maxParallelWorkerHosts !== 0) {
    const n = req.maxParallelWorkerHosts;
    if (!Number.isInteger(n) || n < MIN_PARALLEL_WORKER_HOSTS || n > MAX_PARALLEL_WORKER_HOSTS) {
      throw invalidArgument(`max_parallel_worker_hosts: must be between ${MIN_PARALLEL_WORKER_HOSTS} and ${MAX_PARALLEL_WORKER_HOSTS}, got ${n}`);
    }
    out.maxParallelWorkerHosts = n;
  }
  switch (req.instanceAction) {
    case InstanceAction.INSTANCE_ACTION_UNSPECIFIED:
      break;
    case InstanceAction.INSTANCE_ACTION_MIGRATE:
      out.defaultInstanceAction = "migrate";
      break;
    case InstanceAction.INSTANCE_ACTION_STOP_START:
      out.defaultInstanceAction = "stop-start";
      break;
    default:
      throw invalidArgument(`instance_action: unknown instance action ${req.instanceAction}`);
  }
  switch (req.alarmRestrictions) {
    case AlarmRestrictions.ALARM_RESTRICTIONS_UNSPECIFIED:
      break;
    case AlarmRestrictions.ALARM_RESTRICTIONS_STRICT:
      out.alarmRestrictions = "strict";
      break;
    case AlarmRestrictions.ALARM_RESTRICTIONS_RELAXED:
      out.alarmRestrictions = "relaxed";
      break;
    default:
      throw invalidArgument(`alarm_restrictions: unknown alarm restriction ${req.alarmRestrictions}`);
  }
  // PLAN: maintenance windows (checked by the engine).
  if (req.windows.length > 0) out.windows = [...req.windows];
  if (req.windowTz) out.windowTz = req.windowTz;
  if (req.cutoffMinutes) out.cutoffMinutes = req.cutoffMinutes;
  return out;
}

/** ROLLOUT (issue 20): the safer-rollout fields of a CreateStrategyRequest (checked by the engine). */
export function rolloutOptionsFromRequest(req: CreateStrategyRequest): Partial<RolloutOptions> {
  return {
    maxFailures: req.maxFailures,
    minExecuted: req.minExecuted,
    canary: req.canary,
    canaryHosts: [...req.canaryHosts],
    soakSeconds: req.soakSeconds,
    healthGate: req.healthGate as HealthGateName,
    onFailure: req.onFailure as OnFailureName,
  };
}

/** stage_id of Apply/AbortStrategyRequest: undefined, or a stage index. */
export function stageIdFromRequest(stageId: number | undefined): number | undefined {
  if (stageId === undefined) return undefined;
  if (!Number.isInteger(stageId) || stageId < 0) throw invalidArgument(`stage_id: invalid stage id ${stageId}`);
  return stageId;
}

// ------------------------------------------------------------------ gRPC responses

const toDate = (iso: string): Date | undefined => (iso ? new Date(iso) : undefined);

/** Phase/stage/step `state` (not a reference field): initial, inprogress or complete. */
function stateOf(inprogress: boolean, result: StrategyResult): string {
  if (inprogress || result === "inprogress" || result === "wait") return "inprogress";
  return result === "initial" ? "initial" : "complete";
}

function stepToProto(s: StrategyStep): ProtoStep {
  return {
    stepId: s.stepId,
    name: s.name,
    entityType: s.entityType,
    entityNames: [...s.entityNames],
    entityUuids: [...s.entityUuids],
    state: stateOf(false, s.result),
    result: s.result,
    reason: s.reason,
    timeout: s.timeout,
    startDate: toDate(s.startDate),
    endDate: toDate(s.endDate),
  };
}

function stageToProto(s: StrategyStage): ProtoStage {
  return {
    stageId: s.stageId,
    name: s.name,
    state: stateOf(s.inprogress, s.result),
    result: s.result,
    reason: s.reason,
    timeout: s.timeout,
    startDate: toDate(s.startDate),
    endDate: toDate(s.endDate),
    currentStep: s.currentStep,
    totalSteps: s.totalSteps,
    inprogress: s.inprogress,
    steps: s.steps.map(stepToProto),
  };
}

function phaseToProto(p: StrategyPhase): ProtoPhase {
  return {
    name: p.name,
    state: stateOf(p.inprogress, p.result),
    result: p.result,
    reason: p.reason,
    timeout: p.timeout,
    startDate: toDate(p.startDate),
    endDate: toDate(p.endDate),
    currentStage: p.currentStage,
    totalStages: p.totalStages,
    stopAtStage: p.stopAtStage,
    completionPercentage: p.completionPercentage,
    inprogress: p.inprogress,
    stages: p.stages.map(stageToProto),
  };
}

/** The engine's strategy as the proto message (states and results are the reference strings). */
export function strategyToProto(s: Strategy): ProtoStrategy {
  return {
    uuid: s.uuid,
    name: s.name,
    controllerApplyType: s.controllerApplyType,
    storageApplyType: s.storageApplyType,
    workerApplyType: s.workerApplyType,
    swiftApplyType: s.swiftApplyType,
    maxParallelWorkerHosts: s.maxParallelWorkerHosts,
    defaultInstanceAction: s.defaultInstanceAction,
    alarmRestrictions: s.alarmRestrictions,
    state: s.state,
    currentPhase: s.currentPhase,
    currentPhaseCompletionPercentage: s.currentPhaseCompletionPercentage,
    buildPhase: phaseToProto(s.buildPhase),
    applyPhase: phaseToProto(s.applyPhase),
    abortPhase: phaseToProto(s.abortPhase),
    ...planFieldsToProto(s),
    ...rolloutToProto(s),
  };
}

/** PLAN: is the window state current (only while the strategy runs)? */
const showsWindowState = (s: Strategy) => s.state === "applying" || (s.state as string) === "paused";

/** PLAN: plan hash and window fields of the proto Strategy. */
function planFieldsToProto(s: Strategy): Pick<ProtoStrategy, "planHash" | "windows" | "windowTz" | "cutoffMinutes" | "windowState" | "nextWindowStart"> {
  const live = showsWindowState(s);
  return {
    planHash: s.planHash ?? "",
    windows: [...(s.windows ?? [])],
    windowTz: s.windows?.length ? (s.windowTz ?? "UTC") : "",
    cutoffMinutes: s.cutoffMinutes ?? 0,
    windowState: live ? (s.windowState ?? "") : "",
    nextWindowStart: live ? toDate(s.nextWindowStart ?? "") : undefined,
  };
}

/** PLAN: a rehearsal's report as the proto response. */
export function rehearsalToProto(r: RehearsalReport): RehearseStrategyResponse {
  return {
    runs: r.runs,
    failRate: r.failRate,
    seed: r.seed,
    hosts: r.hosts,
    stages: r.stages,
    meanDurationSeconds: r.meanDurationS,
    minDurationSeconds: r.minDurationS,
    maxDurationSeconds: r.maxDurationS,
    failures: r.failures,
    runsWithFailures: r.runsWithFailures,
    failureBudget: r.failureBudget,
    budgetExhaustedRuns: r.budgetExhaustedRuns,
    budgetExhaustedStages: r.budgetExhaustedStages.map((x) => ({ stageId: x.stageId, stageName: x.stageName, runs: x.runs })),
    onFailure: r.onFailure,
    onFailureEffect: r.onFailureEffect,
    outcomes: r.outcomes.map((x) => ({ state: x.state, runs: x.runs })),
  };
}

/** PLAN: a rehearsal's report as VIM REST JSON (snake_case keys, the proto names). */
export function rehearsalToJson(r: RehearsalReport): Record<string, unknown> {
  return {
    runs: r.runs,
    fail_rate: r.failRate,
    seed: r.seed,
    hosts: r.hosts,
    stages: r.stages,
    mean_duration_seconds: r.meanDurationS,
    min_duration_seconds: r.minDurationS,
    max_duration_seconds: r.maxDurationS,
    failures: r.failures,
    runs_with_failures: r.runsWithFailures,
    failure_budget: r.failureBudget,
    budget_exhausted_runs: r.budgetExhaustedRuns,
    budget_exhausted_stages: r.budgetExhaustedStages.map((x) => ({ stage_id: x.stageId, stage_name: x.stageName, runs: x.runs })),
    on_failure: r.onFailure,
    on_failure_effect: r.onFailureEffect,
    outcomes: r.outcomes.map((x) => ({ state: x.state, runs: x.runs })),
  };
}

// ROLLOUT (issue 20)
function verdictToProto(v: GateVerdict): ProtoGateVerdict {
  return { at: toDate(v.at), gate: v.gate, verdict: v.verdict, evidence: v.evidence, stageId: v.stageId };
}

type RolloutProtoFields = Pick<
  ProtoStrategy,
  | "maxFailures"
  | "minExecuted"
  | "failureBudget"
  | "failures"
  | "executed"
  | "canary"
  | "canaryHosts"
  | "canaryStages"
  | "hostsTotal"
  | "soakSeconds"
  | "healthGate"
  | "onFailure"
  | "gateVerdicts"
  | "rollbackPhase"
  | "paused"
  | "stopReason"
>;

function rolloutToProto(s: Strategy): RolloutProtoFields {
  const r = s.rollout ?? newRolloutState(DEFAULT_ROLLOUT);
  return {
    maxFailures: r.maxFailures,
    minExecuted: r.minExecuted,
    failureBudget: r.failureBudget,
    failures: r.failures,
    executed: r.executed,
    canary: r.canary,
    canaryHosts: [...r.canaryHosts],
    canaryStages: r.canaryStages,
    hostsTotal: r.hostsTotal,
    soakSeconds: r.soakSeconds,
    healthGate: r.healthGate,
    onFailure: r.onFailure,
    gateVerdicts: r.gateVerdicts.map(verdictToProto),
    rollbackPhase: phaseToProto(r.rollbackPhase),
    paused: r.paused,
    stopReason: r.stopReason,
  };
}

/** ROLLOUT: the new keys of the VIM strategy JSON (snake_case, beside the reference's hyphenated ones). */
function rolloutJson(s: Strategy): Record<string, unknown> {
  const r = s.rollout ?? newRolloutState(DEFAULT_ROLLOUT);
  return {
    max_failures: r.maxFailures,
    min_executed: r.minExecuted,
    failure_budget: r.failureBudget,
    failures: r.failures,
    executed: r.executed,
    canary: r.canary,
    canary_hosts: [...r.canaryHosts],
    canary_stages: r.canaryStages,
    hosts_total: r.hostsTotal,
    soak_seconds: r.soakSeconds,
    health_gate: r.healthGate,
    on_failure: r.onFailure,
    gate_verdicts: r.gateVerdicts.map((v) => ({ at: formatDateTime(v.at), gate: v.gate, verdict: v.verdict, evidence: v.evidence, stage_id: v.stageId })),
    rollback_phase: phaseJson(r.rollbackPhase),
    paused: r.paused,
    stop_reason: r.stopReason,
  };
}

// ------------------------------------------------------------------ VIM REST JSON (spec §3.4)

const pad = (n: number) => String(n).padStart(2, "0");

/** Local time `YYYY-MM-DD HH:MM:SS`, or "" (spec §3.4). */
export function formatDateTime(iso: string | Date | undefined): string {
  if (!iso) return "";
  const d = typeof iso === "string" ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function stepJson(s: StrategyStep) {
  return {
    "step-id": s.stepId,
    "step-name": s.name,
    timeout: s.timeout,
    "entity-type": s.entityType,
    "entity-names": [...s.entityNames],
    "entity-uuids": [...s.entityUuids],
    result: s.result,
    reason: s.reason,
    "start-date-time": formatDateTime(s.startDate),
    "end-date-time": formatDateTime(s.endDate),
  };
}

function stageJson(s: StrategyStage) {
  return {
    "stage-id": s.stageId,
    "stage-name": s.name,
    timeout: s.timeout,
    "total-steps": s.totalSteps,
    "current-step": s.currentStep,
    inprogress: s.inprogress,
    result: s.result,
    reason: s.reason,
    "start-date-time": formatDateTime(s.startDate),
    "end-date-time": formatDateTime(s.endDate),
    steps: s.steps.map(stepJson),
  };
}

function phaseJson(p: StrategyPhase) {
  return {
    "phase-name": p.name,
    timeout: p.timeout,
    "total-stages": p.totalStages,
    "current-stage": p.currentStage,
    "stop-at-stage": p.stopAtStage,
    inprogress: p.inprogress,
    "completion-percentage": p.completionPercentage,
    result: p.result,
    reason: p.reason,
    response: p.response,
    "start-date-time": formatDateTime(p.startDate),
    "end-date-time": formatDateTime(p.endDate),
    stages: p.stages.map(stageJson),
  };
}

/** The reference's strategy JSON (hyphenated keys, spec §3.4), without the `{"strategy": …}` wrapper. */
export function strategyToReferenceJson(s: Strategy): Record<string, unknown> {
  return {
    uuid: s.uuid,
    name: s.name,
    "controller-apply-type": s.controllerApplyType,
    "storage-apply-type": s.storageApplyType,
    "swift-apply-type": s.swiftApplyType,
    "worker-apply-type": s.workerApplyType,
    "max-parallel-worker-hosts": s.maxParallelWorkerHosts,
    "default-instance-action": s.defaultInstanceAction,
    "alarm-restrictions": s.alarmRestrictions,
    state: s.state,
    "current-phase": s.currentPhase,
    "current-phase-completion-percentage": s.currentPhaseCompletionPercentage,
    "build-phase": phaseJson(s.buildPhase),
    "apply-phase": phaseJson(s.applyPhase),
    "abort-phase": phaseJson(s.abortPhase),
    ...planFieldsJson(s),
    ...rolloutJson(s),
  };
}

/** PLAN: plan hash and window keys beside the reference's (snake_case, the proto names). */
function planFieldsJson(s: Strategy): Record<string, unknown> {
  const p = planFieldsToProto(s);
  return {
    plan_hash: p.planHash,
    windows: p.windows,
    window_tz: p.windowTz,
    cutoff_minutes: p.cutoffMinutes,
    window_state: p.windowState,
    next_window_start: p.nextWindowStart ? p.nextWindowStart.toISOString() : "",
  };
}
