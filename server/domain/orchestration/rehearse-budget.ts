/**
 * The error-budget decision the rehearsal (rehearse.ts) applies to the host outcomes of a simulated
 * run: has the budget run out after `failures` failed hosts of `executed` finished ones?
 *
 * TODO(ROLLOUT, issue 20): this is a stand-in with the semantics (the budget is the number
 * of failures allowed; no decision before `minExecuted` hosts have finished). ROLLOUT's error-budget
 * module in server/domain/orchestration is the one truth: the merger replaces this body with a call
 * to it (and reads `failureBudget`/`minExecuted` from the strategy, as rehearse.ts does).
 */

/** Inputs of {@link budgetExhausted}. */
export interface BudgetInput {
  /** Hosts that failed so far (failures never stop counting). */
  failures: number;
  /** Hosts finished so far (failed or not). */
  executed: number;
  /** Failures allowed (the strategy's failure_budget; 0 = the reference's first failure stops it). */
  budget: number;
  /** No decision before this many hosts have finished. */
  minExecuted: number;
}

/** True when the budget has run out (the strategy's --on-failure then acts). */
export function budgetExhausted(i: BudgetInput): boolean {
  return i.executed >= i.minExecuted && i.failures > i.budget;
}
