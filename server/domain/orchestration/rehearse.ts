/**
 * `sw-manager patch-strategy rehearse` (issue 20): runs the built strategy N times, in process,
 * with the real engine against simulated copies of the current inventory (rehearsal-cluster.ts:
 * virtual time, seeded faults), and reports the expected duration, the failures, how often the
 * error budget runs out and in which stage, and what --on-failure would then do. No real host is
 * touched: the copies live in memory and each run's strategy in its own in-memory persistence.
 */
import { newRolloutState } from "./rollout-options.js";
import { invalidArgument, failedPrecondition } from "../errors.js";
import type { NewEvent } from "../events/event-log.js";
import { cloneStrategy, newPhase, type Strategy } from "./model.js";
import type { StrategyPersistence } from "./persistence.js";
import type { ClusterPort, ClusterSnapshot } from "./ports.js";
import { budgetExhausted } from "./rehearse-budget.js";
import { RehearsalCluster, seededRandom } from "./rehearsal-cluster.js";

/** What a rehearsal is asked for. */
export interface RehearseOptions {
  /** Probability (0..1) that a host's install fails. */
  failRate: number;
  /** Runs; default 20, at most 1000. */
  runs?: number;
  /** Seed; default random (reported back). */
  seed?: number;
  /** The caller went away (call cancelled or past its deadline): stop between runs with AbortError. */
  signal?: AbortSignal;
}

/** The engine one run drives (an Orchestrator over the simulated cluster). */
export interface RehearsalEngine {
  init(): Promise<void>;
  idle(): Promise<void>;
  apply(): Promise<Strategy>;
  current(): Strategy | undefined;
  close(): Promise<void>;
}

/** Makes the engine of one run. */
export type RehearsalEngineFactory = (port: ClusterPort, persistence: StrategyPersistence) => RehearsalEngine;

/** The rehearsal's findings. */
export interface RehearsalReport {
  runs: number;
  failRate: number;
  seed: number;
  hosts: number;
  stages: number;
  /** Simulated (reference) seconds per run. */
  meanDurationS: number;
  minDurationS: number;
  maxDurationS: number;
  failures: number;
  runsWithFailures: number;
  failureBudget: number;
  budgetExhaustedRuns: number;
  budgetExhaustedStages: { stageId: number; stageName: string; runs: number }[];
  onFailure: string;
  onFailureEffect: string;
  outcomes: { state: string; runs: number }[];
}

export const DEFAULT_REHEARSAL_RUNS = 20;
export const MAX_REHEARSAL_RUNS = 1000;

/** Run-time fields (ROLLOUT's among them) a rehearsal copy starts without. */
const RUNTIME_FIELDS = ["failures", "executed", "gateVerdicts", "rollbackPhase", "paused", "stopReason", "abortRequested", "windowState", "nextWindowStart"];

/** The strategy as built, ready to apply, with no windows (a rehearsal does not wait for them). */
function freshCopy(s: Strategy): Strategy {
  const c = cloneStrategy(s);
  const rec = c as unknown as Record<string, unknown>;
  for (const k of RUNTIME_FIELDS) delete rec[k];
  delete c.windows;
  delete c.windowTz;
  delete c.cutoffMinutes;
  // ROLLOUT's run-time state starts afresh; what the build decided (budget, canary stages, patches) stays.
  if (c.rollout) {
    const { failureBudget, hostsTotal, canaryStages, patchIds } = c.rollout;
    c.rollout = { ...newRolloutState(c.rollout), failureBudget, hostsTotal, canaryStages, patchIds: [...patchIds] };
  }
  const stages = c.applyPhase.stages.map((st) => ({
    ...st,
    currentStep: 0,
    inprogress: false,
    result: "initial" as const,
    reason: "",
    startDate: "",
    endDate: "",
    steps: st.steps.map((step) => ({ ...step, result: "initial" as const, reason: "", startDate: "", endDate: "", deadline: undefined })),
  }));
  c.applyPhase = newPhase("apply", stages);
  c.abortPhase = newPhase("abort");
  c.state = "ready-to-apply";
  c.currentPhase = "build";
  return c;
}

/** The hosts the plan installs, each with the first stage that installs it. */
function hostStages(s: Strategy): Map<string, number> {
  const m = new Map<string, number>();
  for (const st of s.applyPhase.stages) for (const step of st.steps) if (step.name === "sw-patch-hosts") for (const h of step.hosts) if (!m.has(h)) m.set(h, st.stageId);
  return m;
}

function memoryPersistence(s: Strategy): StrategyPersistence {
  let json: string | undefined = JSON.stringify(s);
  return {
    async load() {
      return json ? (JSON.parse(json) as Strategy) : undefined;
    },
    async save(strategy: Strategy | undefined, _events: readonly NewEvent[]) {
      json = strategy ? JSON.stringify(strategy) : undefined;
    },
  };
}

/** What --on-failure would do when the budget runs out. */
export function onFailureEffect(onFailure: string, patchedBefore: number): string {
  switch (onFailure) {
    case "pause":
      return "pause: no further host starts; the strategy waits for resume or abort";
    case "rollback":
      return `rollback: the strategy's patches are removed and the hosts already patched (${patchedBefore.toFixed(1)} on average) are installed back, in reverse order`;
    default:
      return "abort: no further host starts; the running stage's locks, stopped instances and disabled services are undone; patched hosts keep the patch";
  }
}

/**
 * Rehearses `s` (built) over the inventory in `snap`. INVALID_ARGUMENT for a fail rate outside
 * 0..1 or runs outside 1..1000; FAILED_PRECONDITION when the strategy is not built.
 */
export async function rehearseStrategy(s: Strategy, snap: ClusterSnapshot, o: RehearseOptions, engine: RehearsalEngineFactory): Promise<RehearsalReport> {
  if (!(o.failRate >= 0 && o.failRate <= 1)) throw invalidArgument(`fail_rate: must be between 0 and 1, got ${o.failRate}`, { reason: "INVALID_REHEARSAL" });
  const runs = o.runs === undefined || o.runs === 0 ? DEFAULT_REHEARSAL_RUNS : o.runs;
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_REHEARSAL_RUNS) {
    throw invalidArgument(`runs: must be between 1 and ${MAX_REHEARSAL_RUNS}, got ${runs}`, { reason: "INVALID_REHEARSAL" });
  }
  if (s.buildPhase.result !== "success" || s.applyPhase.totalStages === 0) throw failedPrecondition("build not complete", { reason: "REHEARSE_REJECTED" });
  const seed = o.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : o.seed >>> 0;
  const stageOf = hostStages(s);
  const simSnap: ClusterSnapshot = {
    ...structuredClone(snap),
    alarms: [],
    hosts: snap.hosts.map((h) => (stageOf.has(h.hostname) ? { ...structuredClone(h), patchCurrent: false, patchFailed: false, interim: false } : structuredClone(h))),
  };
  // ROLLOUT's options and budget (rollout-options.ts), computed at build.
  const budget = s.rollout?.failureBudget ?? 0;
  const minExecuted = s.rollout?.minExecuted ?? 0;
  const onFailure: string = s.rollout?.onFailure ?? "abort";
  const durations: number[] = [];
  const outcomes = new Map<string, number>();
  const exhaustedAt = new Map<number, number>();
  let failures = 0;
  let runsWithFailures = 0;
  let exhaustedRuns = 0;
  let patchedAtExhaustion = 0;
  for (let run = 0; run < runs; run++) {
    o.signal?.throwIfAborted();
    const cluster = new RehearsalCluster(simSnap, seededRandom((seed + run * 0x9e3779b1) >>> 0), o.failRate);
    const e = engine(cluster, memoryPersistence(freshCopy(s)));
    try {
      await e.init();
      await e.idle();
      await e.apply();
      await e.idle();
      const end = e.current();
      outcomes.set(end?.state ?? "none", (outcomes.get(end?.state ?? "none") ?? 0) + 1);
    } finally {
      await e.close();
    }
    durations.push(cluster.elapsedMs() / 1000);
    let f = 0;
    let executed = 0;
    let exhausted = false;
    for (const i of cluster.installs) {
      executed++;
      if (!i.success) f++;
      if (!exhausted && budgetExhausted({ failures: f, executed, budget, minExecuted })) {
        exhausted = true;
        exhaustedRuns++;
        patchedAtExhaustion += executed - f;
        const stage = stageOf.get(i.host) ?? 0;
        exhaustedAt.set(stage, (exhaustedAt.get(stage) ?? 0) + 1);
      }
    }
    failures += f;
    if (f > 0) runsWithFailures++;
  }
  const stageName = (id: number) => s.applyPhase.stages[id]?.name ?? "";
  return {
    runs,
    failRate: o.failRate,
    seed,
    hosts: stageOf.size,
    stages: s.applyPhase.totalStages,
    meanDurationS: durations.reduce((a, b) => a + b, 0) / runs,
    minDurationS: Math.min(...durations),
    maxDurationS: Math.max(...durations),
    failures,
    runsWithFailures,
    failureBudget: budget,
    budgetExhaustedRuns: exhaustedRuns,
    budgetExhaustedStages: [...exhaustedAt.entries()].sort((a, b) => a[0] - b[0]).map(([stageId, n]) => ({ stageId, stageName: stageName(stageId), runs: n })),
    onFailure,
    onFailureEffect: onFailureEffect(onFailure, exhaustedRuns > 0 ? patchedAtExhaustion / exhaustedRuns : 0),
    outcomes: [...outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([state, n]) => ({ state, runs: n })),
  };
}
