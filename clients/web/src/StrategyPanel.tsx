import { useState, type FormEvent } from "react";
import { api, type PhaseView, type Session, type StrategyView } from "./api";
import { OutcomeView, TimeLeft, fmtDate, useAction } from "./components";
import type { ConsoleData } from "./live";
import { StrategyPlan } from "./StrategyPlan";

/** sw-manager patch-strategy create options; the first choice is the reference default. */
const CHOICES: { key: string; flag: string; label: string; choices: string[] }[] = [
  { key: "controllerApplyType", flag: "--controller-apply-type", label: "Controller apply type", choices: ["serial", "ignore"] },
  { key: "storageApplyType", flag: "--storage-apply-type", label: "Storage apply type", choices: ["serial", "parallel", "ignore"] },
  { key: "workerApplyType", flag: "--worker-apply-type", label: "Worker apply type", choices: ["serial", "parallel", "ignore"] },
  { key: "defaultInstanceAction", flag: "--instance-action", label: "Instance action", choices: ["stop-start", "migrate"] },
  { key: "alarmRestrictions", flag: "--alarm-restrictions", label: "Alarm restrictions", choices: ["strict", "relaxed"] },
];

function CreateForm({ disabled, onCreate }: { disabled: boolean; onCreate: (o: Record<string, string | number>) => void }) {
  const [opts, setOpts] = useState<Record<string, string>>(Object.fromEntries(CHOICES.map((c) => [c.key, c.choices[0]!])));
  const [maxPar, setMaxPar] = useState("2");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onCreate({ ...opts, maxParallelWorkerHosts: maxPar === "" ? "" : Number(maxPar) });
  };
  return (
    <form className="create" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">Create a patch strategy</h2>
      <div className="form-grid">
        {CHOICES.map((c) => (
          <div key={c.key} className="field">
            <label htmlFor={`opt-${c.key}`}>{c.label}</label>
            <select id={`opt-${c.key}`} value={opts[c.key]} onChange={(e) => setOpts({ ...opts, [c.key]: e.target.value })}>
              {c.choices.map((v, i) => (
                <option key={v} value={v}>
                  {v}
                  {i === 0 ? " (default)" : ""}
                </option>
              ))}
            </select>
            <span className="muted flag">{c.flag}</span>
          </div>
        ))}
        <div className="field">
          <label htmlFor="opt-max">Max parallel worker hosts</label>
          <input id="opt-max" type="number" min={2} max={100} value={maxPar} onChange={(e) => setMaxPar(e.target.value)} />
          <span className="muted flag">--max-parallel-worker-hosts (2..100)</span>
        </div>
      </div>
      <button type="submit" disabled={disabled}>
        Create strategy
      </button>
    </form>
  );
}

function PhaseTree({ phase, current }: { phase: PhaseView; current: boolean }) {
  const title = `${phase.name[0]!.toUpperCase()}${phase.name.slice(1)} phase`;
  return (
    <li className={`phase ${current ? "current" : ""}`}>
      <div className="node">
        <strong>{title}</strong>
        <span className={`result result-${phase.result}`}>{phase.result}</span>
        <span className="muted">
          {phase.totalStages} stage{phase.totalStages === 1 ? "" : "s"} · timeout {phase.timeout} s ·{" "}
          {phase.result === "initial" && !phase.inprogress ? "not started" : `${phase.completionPercentage}% complete`}
        </span>
        {phase.inprogress && <progress aria-label={`${title} completion`} max={100} value={phase.completionPercentage} />}
        {phase.reason && <span className="reason">{phase.reason}</span>}
      </div>
      {phase.stages.length > 0 && (
        <ul>
          {phase.stages.map((st) => (
            <li key={st.stageId} className={`stage ${st.inprogress ? "current" : ""}`}>
              <details open={phase.name !== "build" || st.result !== "success"}>
                <summary>
                  <strong>
                    Stage {st.stageId}: {st.name}
                  </strong>
                  <span className={`result result-${st.result}`}>{st.result}</span>
                  <span className="muted">
                    step {Math.min(st.currentStep + (st.result === "initial" ? 0 : 1), st.totalSteps)}/{st.totalSteps} · timeout {st.timeout} s
                  </span>
                  {st.reason && <span className="reason">{st.reason}</span>}
                </summary>
                <table className="grid steps" aria-label={`${phase.name} stage ${st.stageId} steps`}>
                  <thead>
                    <tr>
                      <th scope="col">Step</th>
                      <th scope="col">Name</th>
                      <th scope="col">Entities</th>
                      <th scope="col">State</th>
                      <th scope="col">Timeout</th>
                      <th scope="col">Start</th>
                      <th scope="col">End</th>
                      <th scope="col">Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {st.steps.map((sp) => (
                      <tr key={sp.stepId}>
                        <td>{sp.stepId}</td>
                        <td>{sp.name}</td>
                        <td>{sp.entityNames.join(", ")}</td>
                        <td>
                          <span className={`result result-${sp.result}`}>{sp.result}</span>
                        </td>
                        <td>{sp.timeout} s</td>
                        <td>{fmtDate(sp.startDate)}</td>
                        <td>{fmtDate(sp.endDate)}</td>
                        <td>
                          {sp.reason}
                          {sp.result === "wait" && sp.deadline && (
                            <>
                              {sp.reason ? " · " : ""}
                              <TimeLeft deadline={sp.deadline} />
                            </>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function Summary({ s }: { s: StrategyView }) {
  return (
    <dl className="kv">
      <dt>strategy-uuid</dt>
      <dd>{s.uuid}</dd>
      <dt>controller-apply-type</dt>
      <dd>{s.controllerApplyType}</dd>
      <dt>storage-apply-type</dt>
      <dd>{s.storageApplyType}</dd>
      <dt>worker-apply-type</dt>
      <dd>{s.workerApplyType}</dd>
      {s.workerApplyType === "parallel" && (
        <>
          <dt>max-parallel-worker-hosts</dt>
          <dd>{s.maxParallelWorkerHosts}</dd>
        </>
      )}
      <dt>default-instance-action</dt>
      <dd>{s.defaultInstanceAction}</dd>
      <dt>alarm-restrictions</dt>
      <dd>{s.alarmRestrictions}</dd>
      <dt>current-phase</dt>
      <dd>{s.currentPhase}</dd>
      <dt>current-phase-completion</dt>
      <dd>
        <progress aria-label="Strategy completion" max={100} value={s.currentPhaseCompletionPercentage} /> {s.currentPhaseCompletionPercentage}%
      </dd>
      <dt>state</dt>
      <dd>
        <span className={`state strategy-${s.state}`} aria-label="Strategy state">
          {s.state}
        </span>
      </dd>
    </dl>
  );
}

export function StrategyPanel({ session, data }: { session: Session; data: ConsoleData }) {
  const can = session.permissions;
  const s = data.strategy;
  const action = useAction();
  const [stage, setStage] = useState("");
  const stageId = stage === "" ? undefined : Number(stage);
  const anyAction = can.applyStrategy || can.abortStrategy || can.deleteStrategy;

  return (
    <div className="panel">
      <h1>Patch Orchestration</h1>
      <section className="card" aria-labelledby="strategy-title">
        <h2 id="strategy-title">Patch strategy</h2>
        {!s && <p className="muted">No strategy available</p>}
        {!s && can.createStrategy && (
          <CreateForm
            disabled={action.busy}
            onCreate={(o) =>
              void action.run(async () => {
                await api.createStrategy(o);
              })
            }
          />
        )}
        {s && <Summary s={s} />}
        {s && anyAction && (
          <div className="toolbar" role="group" aria-label="Strategy actions">
            {(can.applyStrategy || can.abortStrategy) && (
              <>
                <label htmlFor="stage">Stage</label>
                <select id="stage" value={stage} onChange={(e) => setStage(e.target.value)}>
                  <option value="">all stages</option>
                  {s.applyPhase.stages.map((st) => (
                    <option key={st.stageId} value={String(st.stageId)}>
                      stage {st.stageId}: {st.name}
                    </option>
                  ))}
                </select>
              </>
            )}
            {can.applyStrategy && (
              <button
                type="button"
                disabled={action.busy || !s.actions.apply}
                title={s.actions.apply ? undefined : `not while the strategy is ${s.state}`}
                onClick={() => void action.run(async () => void (await api.applyStrategy(stageId)))}
              >
                Apply strategy
              </button>
            )}
            {can.abortStrategy && (
              <button
                type="button"
                disabled={action.busy || !s.actions.abort}
                title={s.actions.abort ? undefined : `not while the strategy is ${s.state}`}
                onClick={() => void action.run(async () => void (await api.abortStrategy(stageId)))}
              >
                Abort
              </button>
            )}
            {can.deleteStrategy && (
              <button
                type="button"
                disabled={action.busy || !s.actions.delete}
                title={s.actions.delete ? undefined : `not while the strategy is ${s.state}`}
                onClick={() =>
                  void action.run(async () => {
                    const r = await api.deleteStrategy();
                    setStage("");
                    return { info: r.info };
                  })
                }
              >
                Delete strategy
              </button>
            )}
          </div>
        )}
        <OutcomeView outcome={action.outcome} label="Strategy action result" />
      </section>
      {s && <StrategyPlan s={s} />}
      {s && (
        <section className="card" aria-labelledby="tree-title">
          <h2 id="tree-title">Phases, stages and steps</h2>
          <ul className="tree">
            <PhaseTree phase={s.buildPhase} current={s.currentPhase === "build"} />
            <PhaseTree phase={s.applyPhase} current={s.currentPhase === "apply"} />
            {(s.abortPhase.stages.length > 0 || s.currentPhase === "abort") && <PhaseTree phase={s.abortPhase} current={s.currentPhase === "abort"} />}
            {s.rollout?.rollbackPhase && <PhaseTree phase={s.rollout.rollbackPhase} current={s.state === "rolling-back"} />}
          </ul>
        </section>
      )}
    </div>
  );
}
