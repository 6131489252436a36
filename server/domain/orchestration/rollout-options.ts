/** ROLLOUT (issue 20): the safer-rollout create options, checked and defaulted, and the state a new strategy starts with. */
import { invalidArgument } from "../errors.js";
import { parseMaxFailures } from "./error-budget.js";
import { newPhase, type HealthGateName, type OnFailureName, type RolloutOptions, type RolloutState } from "./model.js";

const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MAX_SOAK_S = 7 * 24 * 3600;
const MAX_CANARY = 10_000;

/** The defaults: the reference's behaviour (first failure aborts, no canary, alarm gate). */
export const DEFAULT_ROLLOUT: Readonly<RolloutOptions> = Object.freeze({
  maxFailures: "",
  minExecuted: 0,
  canary: 0,
  canaryHosts: [],
  soakSeconds: 0,
  healthGate: "alarms",
  onFailure: "abort",
});

/** Checks and defaults the options; INVALID_ARGUMENT naming the field. */
export function normalizeRolloutOptions(o: Partial<RolloutOptions> = {}): RolloutOptions {
  const maxFailures = (o.maxFailures ?? "").trim();
  parseMaxFailures(maxFailures);
  const int = (v: number | undefined, field: string, max: number) => {
    const n = v ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw invalidArgument(`${field}: must be an integer between 0 and ${max}, got ${n}`, { reason: "INVALID_ROLLOUT_OPTION" });
    return n;
  };
  const minExecuted = int(o.minExecuted, "min_executed", MAX_CANARY);
  const canary = int(o.canary, "canary", MAX_CANARY);
  const soakSeconds = int(o.soakSeconds, "soak_seconds", MAX_SOAK_S);
  const canaryHosts = [...new Set((o.canaryHosts ?? []).map((h) => h.trim()).filter((h) => h !== ""))];
  for (const h of canaryHosts)
    if (!HOSTNAME_RE.test(h)) throw invalidArgument(`canary_hosts: invalid hostname ${JSON.stringify(h)}`, { reason: "INVALID_ROLLOUT_OPTION" });
  if (canary > 0 && canaryHosts.length > 0) throw invalidArgument("canary_hosts: give either canary or canary_hosts, not both", { reason: "INVALID_ROLLOUT_OPTION" });
  if (soakSeconds > 0 && canary === 0 && canaryHosts.length === 0)
    throw invalidArgument("soak_seconds: needs canary or canary_hosts", { reason: "INVALID_ROLLOUT_OPTION" });
  const healthGate = (o.healthGate ?? "") === "" ? "alarms" : o.healthGate!;
  if (!["alarms", "agents", "both"].includes(healthGate))
    throw invalidArgument(`health_gate: must be alarms, agents or both, got ${JSON.stringify(healthGate)}`, { reason: "INVALID_ROLLOUT_OPTION" });
  const onFailure = (o.onFailure ?? "") === "" ? "abort" : o.onFailure!;
  if (!["pause", "abort", "rollback"].includes(onFailure))
    throw invalidArgument(`on_failure: must be pause, abort or rollback, got ${JSON.stringify(onFailure)}`, { reason: "INVALID_ROLLOUT_OPTION" });
  return { maxFailures, minExecuted, canary, canaryHosts, soakSeconds, healthGate: healthGate as HealthGateName, onFailure: onFailure as OnFailureName };
}

/** The rollout state of a new strategy. */
export function newRolloutState(o: RolloutOptions): RolloutState {
  return {
    ...o,
    canaryHosts: [...o.canaryHosts],
    failureBudget: 0,
    hostsTotal: 0,
    failures: 0,
    executed: 0,
    hostOutcomes: {},
    canaryStages: 0,
    patchIds: [],
    gateVerdicts: [],
    paused: false,
    stopReason: "",
    acceptedFailures: 0,
    rollbackPending: false,
    applyStartedAt: "",
    rollbackPhase: newPhase("rollback"),
  };
}

/** Whether host failures spend a budget (and the stage goes on) rather than failing their step at once (the reference). */
export function budgetMode(r: RolloutState | undefined): boolean {
  return !!r && (r.failureBudget > 0 || r.minExecuted > 0);
}
