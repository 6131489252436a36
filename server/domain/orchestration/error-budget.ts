/**
 * The strategy's one error budget (issue 20, docs/orchestration.md "Safer rollouts"). Pure.
 *
 * - `--max-failures N|P%`: the budget is `max(N, ceil(P% × hosts in the strategy))` failures;
 *   "" means 0 (the reference's behaviour: the first failure stops the strategy).
 * - A host spends one unit when its install fails, times out, or it does not come back after its
 *   reboot. Failures never stop counting: hosts already in flight when the budget runs out finish,
 *   and their failures count too.
 * - The budget is checked before every host starts (the engine starts the hosts of a stage
 *   together, so it is checked before every stage): at most one stage, i.e. `max-parallel` hosts,
 *   is in flight when it runs out.
 * - No decision is taken before `--min-executed` hosts have finished (succeeded or failed).
 */
import { invalidArgument } from "../errors.js";

/** A parsed `--max-failures`: a count, or a percentage of the strategy's hosts. */
export type MaxFailures = { kind: "count"; n: number } | { kind: "percent"; p: number };

const COUNT_RE = /^\d{1,6}$/;
const PERCENT_RE = /^(\d{1,3}(?:\.\d{1,3})?)%$/;

/** Parses "N" or "P%" ("" = 0). INVALID_ARGUMENT naming max_failures otherwise. */
export function parseMaxFailures(v: string): MaxFailures {
  const t = v.trim();
  if (t === "") return { kind: "count", n: 0 };
  if (COUNT_RE.test(t)) return { kind: "count", n: Number(t) };
  const m = PERCENT_RE.exec(t);
  if (m && Number(m[1]) <= 100) return { kind: "percent", p: Number(m[1]) };
  throw invalidArgument(`max_failures: must be a count N or a percentage P% (0-100), got ${JSON.stringify(v)}`, { reason: "INVALID_MAX_FAILURES" });
}

/** The budget in failures for a strategy of `hosts` hosts: N, or ceil(P% × hosts) (exact for decimal percentages). */
export function failureBudget(maxFailures: string, hosts: number): number {
  const m = parseMaxFailures(maxFailures);
  if (m.kind === "count") return m.n;
  // P% × hosts in thousandths of a percent, so that 12.5% of 8 is exactly 1 and not 1.0000000002.
  const milli = Math.round(m.p * 1000) * hosts;
  return Math.ceil(milli / 100_000);
}

/** Where the budget stands. */
export interface BudgetState {
  budget: number;
  /** Failures spent so far. */
  failures: number;
  /** Hosts finished so far (succeeded or failed). */
  executed: number;
  minExecuted: number;
  /** Failures a resume already accepted (the budget stops again only on a new one). Default 0. */
  acceptedFailures?: number;
}

/** Whether the budget is spent and a decision may be taken now (checked before a host starts). */
export function budgetExhausted(b: BudgetState): boolean {
  if (b.executed < b.minExecuted) return false;
  return b.failures > b.budget && b.failures > (b.acceptedFailures ?? 0);
}

/** Why the budget stopped the strategy (the strategy's stop_reason). */
export function budgetReason(b: BudgetState): string {
  return `failure budget spent: ${b.failures} host(s) failed, budget ${b.budget} (${b.executed} host(s) finished)`;
}

/** One batch's outcome: for each host that started, whether it succeeded. */
export type BatchOutcome = readonly boolean[];

/**
 * What the engine does with `batches` (stages in order, each run to its end once started) under a
 * budget: the budget is checked before each batch; the hosts of a batch all finish. Returns the
 * batches started, the failures counted, the batch it stopped before (`batches.length`: after
 * the last one, the strategy then fails) and the hosts that never started. The engine's own
 * semantics (strategy-runner.ts calls {@link budgetExhausted} at the same points); used by tests
 * and by rehearsals.
 */
export function runBatches(
  batches: readonly BatchOutcome[],
  o: { budget: number; minExecuted: number },
): { started: number; failures: number; executed: number; stoppedBefore: number | undefined; notStarted: number } {
  let failures = 0;
  let executed = 0;
  // Checked once more after the last batch: a strategy that ends over its budget fails too.
  for (let i = 0; i <= batches.length; i++) {
    if (budgetExhausted({ budget: o.budget, failures, executed, minExecuted: o.minExecuted })) {
      const notStarted = batches.slice(i).reduce((n, b) => n + b.length, 0);
      return { started: i, failures, executed, stoppedBefore: i, notStarted };
    }
    if (i === batches.length) break;
    for (const ok of batches[i]!) {
      executed++;
      if (!ok) failures++;
    }
  }
  return { started: batches.length, failures, executed, stoppedBefore: undefined, notStarted: 0 };
}
