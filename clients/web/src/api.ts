/** The console's JSON API (same origin, session cookie). Errors carry the controller's words. */

export type Permission =
  "upload" | "apply" | "remove" | "delete" | "commit" | "install" | "lock" | "unlock" | "createStrategy" | "applyStrategy" | "abortStrategy" | "deleteStrategy";

export interface Session {
  tokenId: string;
  role: string;
  release: string;
  permissions: Record<Permission, boolean>;
}

export interface PatchSummary {
  id: string;
  rr: boolean;
  release: string;
  repoState: string;
  patchState: string;
  summary: string;
  status: string;
  unremovable: boolean;
}

export interface PatchDetails extends PatchSummary {
  description: string;
  installInstructions: string;
  warnings: string;
  applyActiveReleaseOnly: boolean;
  requires: string[];
  requiredBy: string[];
  contents: string[];
  personalities: Record<string, string[]>;
  signer: string;
  uploadedAt: string;
}

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
  outcome: string;
  percent: number;
}

export interface HostView {
  hostname: string;
  ip: string;
  personality: string;
  subfunctions: string[];
  release: string;
  patchCurrent: string;
  rebootRequired: boolean;
  state: string;
  administrative: string;
  operational: string;
  availability: string;
  connected: boolean;
  activeController: boolean;
  installReason: string;
  install: InstallView | null;
}

export interface StepView {
  stepId: number;
  name: string;
  entityType: string;
  entityNames: string[];
  timeout: number;
  result: string;
  reason: string;
  startDate: string;
  endDate: string;
  /** While the step runs: when it times out (ISO). */
  deadline: string;
}
export interface StageView {
  stageId: number;
  name: string;
  timeout: number;
  totalSteps: number;
  currentStep: number;
  inprogress: boolean;
  result: string;
  reason: string;
  startDate: string;
  endDate: string;
  steps: StepView[];
}
export interface PhaseView {
  name: string;
  timeout: number;
  totalStages: number;
  currentStage: number;
  stopAtStage: number;
  inprogress: boolean;
  completionPercentage: number;
  result: string;
  reason: string;
  startDate: string;
  endDate: string;
  stages: StageView[];
}
export interface StrategyView {
  uuid: string;
  name: string;
  controllerApplyType: string;
  storageApplyType: string;
  workerApplyType: string;
  swiftApplyType: string;
  maxParallelWorkerHosts: number;
  defaultInstanceAction: string;
  alarmRestrictions: string;
  state: string;
  currentPhase: string;
  currentPhaseCompletionPercentage: number;
  buildPhase: PhaseView;
  applyPhase: PhaseView;
  abortPhase: PhaseView;
  /** What the strategy's state allows now (the controller refuses the rest). */
  actions: { apply: boolean; abort: boolean; delete: boolean };
  /** Plan hash and maintenance windows (issue 20). */
  plan: PlanView;
  /** Error budget, canary, gate verdicts and rollback (issue 20); null when the strategy has none. */
  rollout: RolloutView | null;
}

export interface PlanView {
  planHash: string;
  windows: string[];
  windowTz: string;
  cutoffMinutes: number;
  windowState: string;
  nextWindowStart: string;
}

export interface GateVerdictView {
  at: string;
  gate: string;
  verdict: string;
  evidence: string;
  stageId: number;
}

export interface RolloutView {
  maxFailures: string;
  minExecuted: number;
  failureBudget: number;
  failures: number;
  budgetLeft: number;
  executed: number;
  canaryHosts: string[];
  soakSeconds: number;
  healthGate: string;
  onFailure: string;
  paused: boolean;
  stopReason: string;
  gateVerdicts: GateVerdictView[];
  rollbackPhase: PhaseView | null;
}

export interface DomainEventView {
  seq: number;
  time: string;
  kind: string;
  patchId: string;
  hostname: string;
  oldState: string;
  newState: string;
  message: string;
  operationId: string;
  install?: InstallView;
}

export interface Messages {
  info: string;
  warning: string;
}

/** An answer the controller refused: `message` is what the console shows next to the action. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Called when an answer says the session is gone (401). */
let onSignedOut: (() => void) | undefined;
export function setSignedOutHandler(fn: (() => void) | undefined): void {
  onSignedOut = fn;
}

async function errorOf(res: Response): Promise<ApiError> {
  let text = "";
  try {
    const body = (await res.json()) as { error?: unknown };
    if (typeof body?.error === "string") text = body.error;
  } catch {
    /* not JSON */
  }
  if (!text) text = res.status >= 500 ? `Error: the controller failed to answer (HTTP ${res.status})` : `Error: request refused (HTTP ${res.status})`;
  return new ApiError(res.status, text);
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: { "x-sw-patch-console": "1", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, "Error: cannot reach the patch controller");
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && path !== "/api/session") onSignedOut?.();
    throw err;
  }
  return (await res.json()) as T;
}

export const api = {
  session: () => call<Session>("GET", "/api/session"),
  signIn: (token: string) => call<Session>("POST", "/api/session", { token }),
  signOut: () => call<{ ok: boolean }>("DELETE", "/api/session"),
  patches: (show: string, release: string) =>
    call<{ patches: PatchSummary[]; releases: string[] }>("GET", `/api/patches?show=${encodeURIComponent(show)}&release=${encodeURIComponent(release)}`),
  patch: (id: string) => call<{ patch: PatchDetails }>("GET", `/api/patches/${encodeURIComponent(id)}`),
  apply: (ids: string[]) => call<Messages>("POST", "/api/patches/apply", { ids }),
  remove: (ids: string[]) => call<Messages>("POST", "/api/patches/remove", { ids }),
  delete: (ids: string[]) => call<Messages>("POST", "/api/patches/delete", { ids }),
  commit: (ids: string[], dryRun: boolean) =>
    call<{ info: string; patchIds: string[]; freedBytes: number; dryRun: boolean }>("POST", "/api/patches/commit", { ids, dryRun }),
  hosts: () => call<{ hosts: HostView[] }>("GET", "/api/hosts"),
  install: (host: string, force: boolean) => call<{ operationId: string; hostname: string }>("POST", `/api/hosts/${encodeURIComponent(host)}/install`, { force }),
  lock: (host: string, force: boolean) => call<{ host: HostView }>("POST", `/api/hosts/${encodeURIComponent(host)}/lock`, { force }),
  unlock: (host: string) => call<{ host: HostView; rebooting: boolean }>("POST", `/api/hosts/${encodeURIComponent(host)}/unlock`, {}),
  strategy: () => call<{ strategy: StrategyView | null }>("GET", "/api/strategy"),
  createStrategy: (opts: Record<string, string | number>) => call<{ strategy: StrategyView }>("POST", "/api/strategy", opts),
  applyStrategy: (stageId?: number) => call<{ strategy: StrategyView }>("POST", "/api/strategy/apply", stageId === undefined ? {} : { stageId }),
  abortStrategy: (stageId?: number) => call<{ strategy: StrategyView }>("POST", "/api/strategy/abort", stageId === undefined ? {} : { stageId }),
  deleteStrategy: () => call<{ info: string }>("DELETE", "/api/strategy"),
};

export interface UploadResult {
  file: string;
  id: string;
  info: string;
  warning: string;
  error: string;
}

/** Uploads files in one multipart request, reporting progress 0..1 as the bytes leave. */
export function uploadPatches(files: readonly File[], onProgress: (fraction: number) => void): Promise<UploadResult[]> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const f of files) form.append("file", f, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/patches/upload");
    xhr.setRequestHeader("x-sw-patch-console", "1");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, "Error: cannot reach the patch controller"));
    xhr.onload = () => {
      let body: { results?: UploadResult[]; error?: string } = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        /* not JSON */
      }
      if (xhr.status === 200 && body.results) {
        onProgress(1);
        resolve(body.results);
        return;
      }
      if (xhr.status === 401) onSignedOut?.();
      reject(new ApiError(xhr.status, body.error ?? `Error: upload refused (HTTP ${xhr.status})`));
    };
    xhr.send(form);
  });
}

/** Text of an error for display (never a stack). */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return `Error: ${e.message}`;
  return `Error: ${String(e)}`;
}
