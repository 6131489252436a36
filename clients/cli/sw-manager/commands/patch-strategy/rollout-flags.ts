/**
 * ROLLOUT (issue 20): the safer-rollout flags of `sw-manager patch-strategy create`
 * (docs/orchestration.md "Safer rollouts"). Checked here for a usage error before connecting; the
 * controller checks them again.
 */
import type { CreateStrategyRequest } from "../../../../sdk/src/index.js";
import type { ActionContext, OptionSpec } from "../../command.js";

export const ROLLOUT_USAGE =
  " [--max-failures N|P%] [--min-executed N] [--canary N | --canary-hosts HOST,...] [--soak SECONDS] " +
  "[--health-gate {alarms,agents,both}] [--on-failure {pause,abort,rollback}]";

export const ROLLOUT_HELP: readonly string[] = [
  "  --max-failures N|P%                               error budget: hosts that may fail (or P% of the",
  "                                                    strategy's hosts, rounded up); default 0",
  "  --min-executed N                                  no budget decision before N hosts finished",
  "  --canary N                                        the first N hosts form the first stage (canary)",
  "  --canary-hosts HOST,...                           these hosts form the canary stage",
  "  --soak SECONDS                                    after the canary, the health gate must stay green",
  "  --health-gate {alarms,agents,both}                defaults to alarms",
  "  --on-failure {pause,abort,rollback}               when the budget is spent or the gate fails; defaults to abort",
];

export const ROLLOUT_OPTIONS: OptionSpec = {
  "max-failures": { type: "string" },
  "min-executed": { type: "string" },
  canary: { type: "string" },
  "canary-hosts": { type: "string" },
  soak: { type: "string" },
  "health-gate": { type: "string" },
  "on-failure": { type: "string" },
};

const CHOICES: Record<string, readonly string[]> = { "health-gate": ["alarms", "agents", "both"], "on-failure": ["pause", "abort", "rollback"] };
const INT_RE = /^\d{1,6}$/;

/** The usage error for the flags, or undefined. */
export function validateRollout(values: ActionContext["values"]): string | undefined {
  for (const [opt, choices] of Object.entries(CHOICES)) {
    const v = values[opt];
    if (v !== undefined && !choices.includes(String(v)))
      return `argument --${opt}: invalid choice: '${String(v)}' (choose from ${choices.map((c) => `'${c}'`).join(", ")})`;
  }
  const mf = values["max-failures"];
  if (mf !== undefined && !/^(\d{1,6}|\d{1,3}(\.\d{1,3})?%)$/.test(String(mf))) return `argument --max-failures: invalid value: '${String(mf)}' (N or P%)`;
  for (const opt of ["min-executed", "canary", "soak"]) {
    const v = values[opt];
    if (v !== undefined && !INT_RE.test(String(v))) return `argument --${opt}: invalid int value: '${String(v)}'`;
  }
  if (values.canary !== undefined && values["canary-hosts"] !== undefined) return "argument --canary-hosts: not allowed with argument --canary";
  if (values.soak !== undefined && values.canary === undefined && values["canary-hosts"] === undefined) return "argument --soak: needs --canary or --canary-hosts";
  return undefined;
}

/** The CreateStrategyRequest fields for the flags given. */
export function rolloutRequest(values: ActionContext["values"]): Partial<CreateStrategyRequest> {
  const str = (k: string) => (values[k] === undefined ? "" : String(values[k]));
  const int = (k: string) => (values[k] === undefined ? 0 : Number(values[k]));
  return {
    maxFailures: str("max-failures"),
    minExecuted: int("min-executed"),
    canary: int("canary"),
    canaryHosts: str("canary-hosts")
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean),
    soakSeconds: int("soak"),
    healthGate: str("health-gate"),
    onFailure: str("on-failure"),
  };
}
