import type { StrategyView } from "./api";
import { fmtDate } from "./components";

/**
 * Plan hash and maintenance windows of a strategy, and — when the strategy has them — its error
 * budget (spent and left), canary and soak, health-gate verdicts with their evidence and why it
 * stopped (issue 20). The rollback phase is drawn in the phase tree (StrategyPanel).
 */
export function StrategyPlan({ s }: { s: StrategyView }) {
  const p = s.plan;
  const r = s.rollout;
  const canaryStage = r && r.canaryHosts.length > 0 ? s.applyPhase.stages[0] : undefined;
  return (
    <section className="card" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan and safety</h2>
      <dl className="kv">
        <dt>plan-hash</dt>
        <dd>
          <code aria-label="Plan hash">{p.planHash || "not built yet"}</code>
        </dd>
        {p.windows.length > 0 && (
          <>
            <dt>windows</dt>
            <dd aria-label="Windows">
              {p.windows.join("; ")} ({p.windowTz}
              {p.cutoffMinutes ? `, cutoff ${p.cutoffMinutes} min` : ""})
            </dd>
            <dt>window-state</dt>
            <dd aria-label="Window state">
              {p.windowState || (s.state === "ready-to-apply" ? "hosts start only inside a window" : "—")}
              {p.nextWindowStart && <span className="muted"> · opens {fmtDate(p.nextWindowStart)}</span>}
            </dd>
          </>
        )}
        {r && (
          <>
            <dt>error budget</dt>
            <dd aria-label="Error budget">
              <meter aria-label="Budget spent" min={0} max={Math.max(1, r.failureBudget)} value={Math.min(r.failures, Math.max(1, r.failureBudget))} /> {r.failures} spent
              · {r.budgetLeft} left of {r.failureBudget}
              <span className="muted">
                {" "}
                · {r.executed} hosts finished{r.minExecuted ? ` (no decision before ${r.minExecuted})` : ""} · on failure: {r.onFailure}
              </span>
            </dd>
            {r.canaryHosts.length > 0 && (
              <>
                <dt>canary</dt>
                <dd aria-label="Canary">
                  {r.canaryHosts.join(", ")} · soak {r.soakSeconds} s{canaryStage ? ` · ${canaryStage.result}` : ""}
                </dd>
              </>
            )}
            <dt>health gate</dt>
            <dd>{r.healthGate}</dd>
            {r.paused && (
              <>
                <dt>paused</dt>
                <dd>yes</dd>
              </>
            )}
            {r.stopReason && (
              <>
                <dt>stopped because</dt>
                <dd aria-label="Stop reason" className="reason">
                  {r.stopReason}
                </dd>
              </>
            )}
          </>
        )}
      </dl>
      {r && r.gateVerdicts.length > 0 && (
        <table className="grid" aria-label="Gate verdicts">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Stage</th>
              <th scope="col">Gate</th>
              <th scope="col">Verdict</th>
              <th scope="col">Evidence</th>
            </tr>
          </thead>
          <tbody>
            {r.gateVerdicts.map((v, i) => (
              <tr key={i}>
                <td>{fmtDate(v.at)}</td>
                <td>{v.stageId}</td>
                <td>{v.gate}</td>
                <td>
                  <span className={`result result-${v.verdict === "pass" ? "success" : "failed"}`}>{v.verdict}</span>
                </td>
                <td>{v.evidence}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
