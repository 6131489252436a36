/**
 * The error-budget decision the rehearsal (rehearse.ts) applies to the host outcomes of a simulated
 * run: the engine's own rule (error-budget.ts), so a rehearsal decides as the apply would.
 */
import { budgetExhausted as engineBudgetExhausted } from "./error-budget.js";

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
  return engineBudgetExhausted({ budget: i.budget, failures: i.failures, executed: i.executed, minExecuted: i.minExecuted });
}
