/**
 * What the console's JSON API answers: plain objects made from the domain's records, shaped for
 * the browser (the same columns and words as the CLIs' tables).
 */
import type { PatchRecord } from "../../domain/patches/model.js";
import type { PatchManager } from "../../domain/patches/patch-manager.js";
import type { HostStatus } from "../../domain/hosts/host-manager.js";
import type { Strategy, StrategyPhase } from "../../domain/orchestration/model.js";
import { allowedActions } from "../../domain/orchestration/strategy-actions.js";
import type { DomainEvent } from "../../domain/events/event-log.js";
import { planView } from "./plan-view.js";

const PHASE_NAMES: Record<number, string> = {
  0: "unspecified",
  1: "queued",
  2: "downloading",
  3: "installing",
  4: "running scripts",
  5: "done",
  6: "failed",
  7: "rejected",
};

/** The reference's closing line of host-install for a terminal phase (CLI outcomeLine). */
export function closingMessage(phase: number): string {
  switch (phase) {
    case 5:
      return "Installation was successful.";
    case 7:
      return "Installation rejected. Node must be locked";
    case 6:
      return "Installation failed. Please check logs for details.";
    default:
      return `Patch agent is reporting unknown state: ${PHASE_NAMES[phase] ?? phase}`;
  }
}

/** An install progress message for the browser (from a HostManager operation or an event). */
export interface InstallView {
  operationId: string;
  hostname: string;
  phase: string;
  phaseCode: number;
  current: number;
  total: number;
  bytesDone: number;
  bytesTotal: number;
  item: string;
  message: string;
  terminal: boolean;
  /** The CLI's closing line once terminal, else "". */
  outcome: string;
  /** Whole-operation completion 0..100 (downloads 0-40, installs 40-90, scripts 90-99, done 100). */
  percent: number;
}

/** The domain's phase names in proto enum order. */
const PHASE_CODES = ["unspecified", "queued", "downloading", "installing", "running-scripts", "done", "failed", "rejected"];

export function installView(p: Record<string, unknown> | undefined): InstallView | undefined {
  if (!p) return undefined;
  const num = (k: string) => (typeof p[k] === "number" ? (p[k] as number) : 0);
  // The domain's progress names its phase; its code is the proto enum number.
  const phase = typeof p.phase === "string" ? Math.max(0, PHASE_CODES.indexOf(p.phase)) : num("phase");
  const current = num("current");
  const total = num("total");
  const bytesDone = num("bytesDone");
  const bytesTotal = num("bytesTotal");
  const frac = (a: number, b: number) => (b > 0 ? Math.max(0, Math.min(1, a / b)) : 0);
  let percent = 0;
  if (phase === 2) percent = 40 * (bytesTotal > 0 ? frac(bytesDone, bytesTotal) : frac(current, total));
  else if (phase === 3) percent = 40 + 50 * frac(current, total);
  else if (phase === 4) percent = 90 + 9 * frac(current, total);
  else if (phase === 5) percent = 100;
  const terminal = p.terminal === true;
  return {
    operationId: String(p.operationId ?? ""),
    hostname: String(p.hostname ?? ""),
    phase: PHASE_NAMES[phase] ?? "working",
    phaseCode: phase,
    current,
    total,
    bytesDone,
    bytesTotal,
    item: String(p.item ?? ""),
    message: String(p.message ?? ""),
    terminal,
    outcome: terminal ? closingMessage(phase) : "",
    percent: Math.floor(percent),
  };
}

export function patchSummary(p: PatchRecord) {
  return {
    id: p.meta.id,
    rr: p.meta.rebootRequired,
    release: p.meta.swVersion,
    repoState: p.repoState,
    patchState: p.patchState,
    summary: p.meta.summary,
    status: p.meta.status,
    unremovable: p.meta.unremovable,
  };
}

export function patchDetails(p: PatchRecord, patches: PatchManager) {
  let requiredBy: string[] = [];
  try {
    requiredBy = patches.whatRequires([p.meta.id])[0]?.requiredBy ?? [];
  } catch {
    requiredBy = [];
  }
  return {
    ...patchSummary(p),
    description: p.meta.description,
    installInstructions: p.meta.installInstructions,
    warnings: p.meta.warnings,
    applyActiveReleaseOnly: p.meta.applyActiveReleaseOnly,
    requires: [...p.meta.requires].sort(),
    requiredBy,
    contents: [...p.meta.contents].sort(),
    personalities: p.meta.personalities,
    signer: p.signer,
    uploadedAt: p.uploadedAt instanceof Date ? p.uploadedAt.toISOString() : String(p.uploadedAt),
  };
}

export function hostView(h: HostStatus, install: InstallView | undefined) {
  return {
    hostname: h.hostname,
    ip: h.ip,
    personality: h.personality,
    subfunctions: h.subfunctions,
    release: h.release,
    patchCurrent: h.patchCurrent,
    rebootRequired: h.requiresRebootShown,
    state: h.agentState,
    administrative: h.adminState,
    operational: h.operational,
    availability: h.availability,
    connected: h.connected,
    activeController: h.activeController,
    installReason: h.installReason,
    install: install ?? null,
  };
}

function phaseView(p: StrategyPhase) {
  return {
    name: p.name,
    timeout: p.timeout,
    totalStages: p.totalStages,
    currentStage: p.currentStage,
    stopAtStage: p.stopAtStage,
    inprogress: p.inprogress,
    completionPercentage: p.completionPercentage,
    result: p.result,
    reason: p.reason,
    startDate: p.startDate,
    endDate: p.endDate,
    stages: p.stages.map((st) => ({
      stageId: st.stageId,
      name: st.name,
      timeout: st.timeout,
      totalSteps: st.totalSteps,
      currentStep: st.currentStep,
      inprogress: st.inprogress,
      result: st.result,
      reason: st.reason,
      startDate: st.startDate,
      endDate: st.endDate,
      steps: st.steps.map((sp) => ({
        stepId: sp.stepId,
        name: sp.name,
        entityType: sp.entityType,
        entityNames: sp.entityNames,
        timeout: sp.timeout,
        result: sp.result,
        reason: sp.reason,
        startDate: sp.startDate,
        endDate: sp.endDate,
        deadline: sp.deadline ?? "",
      })),
    })),
  };
}

export function strategyView(s: Strategy | undefined) {
  if (!s) return null;
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
    buildPhase: phaseView(s.buildPhase),
    applyPhase: phaseView(s.applyPhase),
    abortPhase: phaseView(s.abortPhase),
    actions: allowedActions(s),
    // PLAN (issue 20): plan hash, windows; ROLLOUT's budget, canary, gates, rollback when present.
    ...planView(s, phaseView),
  };
}

export function eventView(e: DomainEvent) {
  return {
    seq: e.seq,
    time: e.time instanceof Date ? e.time.toISOString() : String(e.time),
    kind: e.kind,
    patchId: e.patchId,
    hostname: e.hostname,
    oldState: e.oldState,
    newState: e.newState,
    message: e.message,
    operationId: e.operationId,
    ...(e.kind === "install.progress" ? { install: installView(e.progress as Record<string, unknown> | undefined) } : {}),
  };
}
