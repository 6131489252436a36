import { NotFoundError, PreconditionError, RehearseStrategyResponse, type RehearseStrategyRequest } from "../../../../sdk/src/index.js";
import { formatJson } from "../../../render/json.js";
import { fieldLine } from "../../render/strategy-show.js";
import { ActionFailure, type StrategyAction } from "../../command.js";

/** `12m 30s`, `1h 02m 03s`, `45s` from seconds. */
export function formatDuration(seconds: number): string {
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m ${String(s).padStart(2, "0")}s`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The text `sw-manager patch-strategy rehearse` prints for a report. */
export function renderRehearsal(r: RehearseStrategyResponse): string {
  let out = `Rehearsal of the Patch Strategy (simulated; no real host touched):\n`;
  out += fieldLine(2, "runs", r.runs);
  out += fieldLine(2, "fail-rate", r.failRate);
  out += fieldLine(2, "seed", r.seed);
  out += fieldLine(2, "hosts", `${r.hosts} in ${r.stages} stages`);
  out += fieldLine(
    2,
    "expected-duration",
    `${formatDuration(r.meanDurationSeconds)} (min ${formatDuration(r.minDurationSeconds)}, max ${formatDuration(r.maxDurationSeconds)})`,
  );
  out += fieldLine(2, "failures", `${r.failures} in ${r.runsWithFailures} of ${r.runs} runs`);
  out += fieldLine(2, "failure-budget", r.failureBudget);
  out += fieldLine(2, "budget-exhausted", `${r.budgetExhaustedRuns} of ${r.runs} runs`);
  for (const st of r.budgetExhaustedStages) out += fieldLine(4, `stage ${st.stageId} (${st.stageName})`, `${st.runs} runs`);
  out += fieldLine(2, "on-failure", r.onFailure);
  if (r.budgetExhaustedRuns > 0) out += fieldLine(2, "on-failure-would", r.onFailureEffect);
  out += fieldLine(2, "outcomes", r.outcomes.map((o) => `${o.state} ${o.runs}`).join(", "));
  return out;
}

/** `sw-manager patch-strategy rehearse [--fail-rate P] [--runs N] [--seed S]` (issue 20). */
export const rehearseAction: StrategyAction = {
  name: "rehearse",
  summary: "Rehearse a strategy on a simulated copy of the cluster",
  usage: "patch-strategy rehearse [--fail-rate P] [--runs N] [--seed S]",
  help: [
    "  --fail-rate P                                     probability (0..1) that a host's install fails (default 0)",
    "  --runs N                                          simulated runs (1..1000, default 20)",
    "  --seed S                                          seed of the simulation (default random, printed)",
  ].join("\n"),
  options: { "fail-rate": { type: "string" }, runs: { type: "string" }, seed: { type: "string" } },
  validate(values) {
    const rate = values["fail-rate"];
    if (rate !== undefined && !(/^\d*\.?\d+$/.test(String(rate)) && Number(rate) <= 1)) return `argument --fail-rate: invalid value: '${String(rate)}' (0..1)`;
    const runs = values.runs;
    if (runs !== undefined && !(/^\d+$/.test(String(runs)) && Number(runs) >= 1 && Number(runs) <= 1000))
      return `argument --runs: invalid value: '${String(runs)}' (1..1000)`;
    const seed = values.seed;
    if (seed !== undefined && !/^\d{1,10}$/.test(String(seed))) return `argument --seed: invalid value: '${String(seed)}'`;
    return undefined;
  },
  async run({ client, values, out, json }) {
    const req: RehearseStrategyRequest = {
      failRate: values["fail-rate"] === undefined ? 0 : Number(values["fail-rate"]),
      runs: values.runs === undefined ? 0 : Number(values.runs),
      ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
    };
    try {
      const r = await client.orchestration.rehearseStrategy(req, { deadline: new Date(Date.now() + 600_000) });
      out(json ? formatJson({ rehearsal: RehearseStrategyResponse.toJSON(r) }) : renderRehearsal(r));
      return 0;
    } catch (e) {
      if (e instanceof NotFoundError) throw new ActionFailure("Strategy rehearse failed");
      if (e instanceof PreconditionError) throw new ActionFailure(`Strategy rehearse failed: ${e.message}`);
      throw e;
    }
  },
};
