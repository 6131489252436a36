import type { Strategy, StrategyPhase, StrategyStage, StrategyStep } from "../../../sdk/src/gen/swpatch/v1/orchestration_service.js";
import { safeBlock, safeText } from "../../render/safe-text.js";
import { renderRollout } from "./rollout-show.js";

/** Flags of `sw-manager patch-strategy show`. */
export interface ShowOptions {
  details?: boolean;
  active?: boolean;
  errorDetails?: boolean;
}

/** The column (0-based) where every value starts (spec orchestration §2.5). */
export const VALUE_COLUMN = 42;

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Local time `YYYY-MM-DD HH:MM:SS`, or "" when unset. */
export function formatDateTime(d: Date | undefined): string {
  if (!d || Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Python repr of a list of strings: `['controller-1']`. */
export function pyRepr(items: readonly string[]): string {
  return `[${items.map((s) => `'${safeText(s).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`).join(", ")}]`;
}

/**
 * One `<indent><field>:<pad><value>` line (value at column 42); multi-line values as `field: |`
 * blocks. Values are terminal-safe (render/safe-text.ts).
 */
export function fieldLine(indent: number, field: string, value: string | number | boolean): string {
  const raw = String(value);
  const lead = " ".repeat(indent);
  if (raw.includes("\n")) {
    return (
      `${lead}${field}: |\n` +
      safeBlock(raw)
        .split("\n")
        .map((l) => `${" ".repeat(indent + 2)}${l}`)
        .join("\n") +
      "\n"
    );
  }
  const pad = Math.max(0, VALUE_COLUMN - indent - field.length - 1);
  return `${lead}${field}:${" ".repeat(pad)}${safeText(raw)}\n`;
}

function renderStep(step: StrategyStep): string {
  let out = fieldLine(12, "step-id", step.stepId) + fieldLine(12, "step-name", step.name);
  if (step.entityType) out += fieldLine(12, "entity-type", step.entityType);
  if (step.entityNames.length) out += fieldLine(12, "entity-names", pyRepr(step.entityNames));
  if (step.entityUuids.length) out += fieldLine(12, "entity-uuids", pyRepr(step.entityUuids));
  out += fieldLine(12, "timeout", `${step.timeout} seconds`);
  const start = formatDateTime(step.startDate);
  const end = formatDateTime(step.endDate);
  if (start) out += fieldLine(12, "start-date-time", start);
  if (end) out += fieldLine(12, "end-date-time", end);
  out += fieldLine(12, "result", step.result) + fieldLine(12, "reason", step.reason);
  return out;
}

function renderStage(stage: StrategyStage, active: boolean): string {
  let out =
    fieldLine(8, "stage-id", stage.stageId) +
    fieldLine(8, "stage-name", stage.name) +
    fieldLine(8, "total-steps", stage.totalSteps) +
    fieldLine(8, "current-step", stage.currentStep) +
    fieldLine(8, "timeout", `${stage.timeout} seconds`) +
    fieldLine(8, "start-date-time", formatDateTime(stage.startDate));
  if (stage.inprogress) out += fieldLine(8, "inprogress", "true");
  else out += fieldLine(8, "end-date-time", formatDateTime(stage.endDate)) + fieldLine(8, "result", stage.result) + fieldLine(8, "reason", stage.reason);
  out += "        steps:\n";
  for (const step of stage.steps) {
    if (active && (step.result === "initial" || step.result === "success")) continue;
    out += renderStep(step) + "\n";
  }
  return out;
}

function renderPhase(phase: StrategyPhase, active: boolean): string {
  let out =
    `  ${phase.name}-phase:\n` +
    fieldLine(4, "total-stages", phase.totalStages) +
    fieldLine(4, "current-stage", phase.currentStage) +
    fieldLine(4, "stop-at-stage", phase.stopAtStage) +
    fieldLine(4, "timeout", `${phase.timeout} seconds`) +
    fieldLine(4, "completion-percentage", `${phase.completionPercentage}%`) +
    fieldLine(4, "start-date-time", formatDateTime(phase.startDate));
  if (phase.inprogress) out += fieldLine(4, "inprogress", "true");
  else out += fieldLine(4, "end-date-time", formatDateTime(phase.endDate)) + fieldLine(4, "result", phase.result) + fieldLine(4, "reason", phase.reason);
  out += "    stages:\n";
  for (const stage of phase.stages) {
    if (active && !stage.inprogress) continue;
    out += renderStage(stage, active) + "\n";
  }
  return out;
}

const emptyPhase = (name: string): StrategyPhase => ({
  name,
  state: "",
  result: "initial",
  reason: "",
  timeout: 0,
  startDate: undefined,
  endDate: undefined,
  currentStage: 0,
  totalStages: 0,
  stopAtStage: 0,
  completionPercentage: 100,
  inprogress: false,
  stages: [],
});

/**
 * `sw-manager patch-strategy show` output for `s` (spec orchestration §2.5): the summary, then
 * either the current phase's result block or, with `details`/`active`, the phases in detail.
 * The proto carries no error `response`; `--error-details` prints it empty.
 */
export function renderStrategy(s: Strategy, opts: ShowOptions = {}): string {
  const build = s.buildPhase ?? emptyPhase("build");
  const apply = s.applyPhase ?? emptyPhase("apply");
  const abort = s.abortPhase ?? emptyPhase("abort");
  let out = `Strategy ${s.name === "sw-patch" ? "Patch" : safeText(s.name)} Strategy:\n`;
  out += fieldLine(2, "strategy-uuid", s.uuid);
  out += fieldLine(2, "controller-apply-type", s.controllerApplyType);
  out += fieldLine(2, "storage-apply-type", s.storageApplyType);
  out += fieldLine(2, "worker-apply-type", s.workerApplyType);
  if (s.workerApplyType === "parallel") out += fieldLine(2, "max-parallel-worker-hosts", s.maxParallelWorkerHosts);
  out += fieldLine(2, "default-instance-action", s.defaultInstanceAction);
  out += fieldLine(2, "alarm-restrictions", s.alarmRestrictions);
  out += fieldLine(2, "current-phase", s.currentPhase);
  out += fieldLine(2, "current-phase-completion", `${s.currentPhaseCompletionPercentage}%`);
  out += fieldLine(2, "state", s.state);
  // PLAN (issue 20): only for a strategy with maintenance windows (the reference's output is unchanged otherwise).
  if (s.windows?.length) {
    out += fieldLine(2, "windows", `${s.windows.join("; ")} (${s.windowTz || "UTC"}${s.cutoffMinutes ? `, cutoff ${s.cutoffMinutes} min` : ""})`);
    if (s.windowState) out += fieldLine(2, "window-state", s.windowState);
  }
  if (opts.details || opts.active) {
    // ROLLOUT (issue 20): the rollback phase after the reference's three.
    for (const phase of [build, apply, abort, ...(s.rollbackPhase ? [s.rollbackPhase] : [])]) {
      if (opts.active ? phase.inprogress : phase.totalStages > 0) out += renderPhase(phase, !!opts.active && !opts.details);
    }
    return out + renderRollout(s);
  }
  const response = "";
  switch (s.currentPhase) {
    case "build":
      if (build.inprogress) out += fieldLine(2, "inprogress", "true");
      else {
        out += fieldLine(2, "build-result", build.result) + fieldLine(2, "build-reason", build.reason);
        if (opts.errorDetails) out += fieldLine(2, "build-error-response", response);
      }
      break;
    case "apply":
      if (apply.inprogress) out += fieldLine(2, "inprogress", "true");
      else {
        out += fieldLine(2, "apply-result", apply.result) + fieldLine(2, "apply-reason", apply.reason);
        if (opts.errorDetails) out += fieldLine(2, "apply-error-response", response);
      }
      break;
    case "abort":
      if (abort.inprogress) {
        out += fieldLine(2, "inprogress", "true");
        out += fieldLine(2, "apply-result", apply.result) + fieldLine(2, "apply-reason", apply.reason);
        out += fieldLine(2, "abort-result", "") + fieldLine(2, "abort-reason", "");
      } else {
        out += fieldLine(2, "apply-result", apply.result) + fieldLine(2, "apply-reason", apply.reason);
        if (opts.errorDetails) out += fieldLine(2, "apply-error-response", response);
        out += fieldLine(2, "abort-result", abort.result) + fieldLine(2, "abort-reason", abort.reason);
        if (opts.errorDetails) out += fieldLine(2, "abort-error-response", response);
      }
      break;
    default:
      break;
  }
  return out + renderRollout(s);
}
