import { useEffect, useState } from "react";
import { api, type HostView, type InstallView, type Session } from "./api";
import { OutcomeView, useAction, yesNo } from "./components";
import type { ConsoleData } from "./live";

function InstallBar({ p }: { p: InstallView }) {
  const detail = p.terminal ? p.outcome : `${p.phase}${p.total > 0 ? ` ${p.current}/${p.total}` : ""}${p.item ? ` ${p.item}` : ""}`;
  const cls = p.terminal ? (p.phaseCode === 5 ? "ok" : "bad") : "running";
  return (
    <div className={`install install-${cls}`}>
      <progress aria-label={`Install progress ${p.hostname}`} max={100} value={p.percent} />
      <span className="pct">{p.percent}%</span>
      <span className="phase" role={p.terminal ? "status" : undefined}>
        {detail}
      </span>
    </div>
  );
}

function HostRow({ h, install, session, force }: { h: HostView; install: InstallView | undefined; session: Session; force: boolean }) {
  const can = session.permissions;
  const action = useAction();
  const running = !!install && !install.terminal;
  const anyAction = can.install || can.lock || can.unlock;
  // "X is rebooting" holds until the host is back: available, and no longer needing the reboot.
  const rebootNote = action.outcome?.info === `${h.hostname} is rebooting`;
  const { setOutcome } = action;
  useEffect(() => {
    if (rebootNote && h.availability === "available" && h.connected && !h.rebootRequired) setOutcome(undefined);
  }, [rebootNote, h.availability, h.connected, h.rebootRequired, setOutcome]);
  return (
    <tr>
      <th scope="row">{h.hostname}</th>
      <td>{h.ip}</td>
      <td>
        <span className={`state current-${h.patchCurrent.toLowerCase()}`}>{h.patchCurrent}</span>
      </td>
      <td>{yesNo(h.rebootRequired)}</td>
      <td>{h.release}</td>
      <td>{h.state}</td>
      <td>{h.administrative}</td>
      <td>{h.operational}</td>
      <td>{h.availability}</td>
      <td className="progress-cell">{install ? <InstallBar p={install} /> : <span className="muted">—</span>}</td>
      {anyAction && (
        <td className="actions">
          <div className="row">
            {can.install && (
              <button
                type="button"
                disabled={action.busy || running}
                onClick={() =>
                  void action.run(async () => {
                    await api.install(h.hostname, force);
                  })
                }
              >
                Install
              </button>
            )}
            {can.lock && (
              <button
                type="button"
                disabled={action.busy || h.administrative === "locked"}
                onClick={() =>
                  void action.run(async () => {
                    await api.lock(h.hostname, force);
                  })
                }
              >
                Lock
              </button>
            )}
            {can.unlock && (
              <button
                type="button"
                disabled={action.busy || h.administrative === "unlocked"}
                onClick={() =>
                  void action.run(async () => {
                    const r = await api.unlock(h.hostname);
                    return r.rebooting ? { info: `${h.hostname} is rebooting` } : undefined;
                  })
                }
              >
                Unlock
              </button>
            )}
          </div>
          <OutcomeView outcome={action.outcome} label={`${h.hostname} action result`} />
        </td>
      )}
    </tr>
  );
}

export function HostsPanel({ session, data }: { session: Session; data: ConsoleData }) {
  const can = session.permissions;
  const [force, setForce] = useState(false);
  const anyAction = can.install || can.lock || can.unlock;
  return (
    <div className="panel">
      <h1>Hosts</h1>
      <section className="card" aria-labelledby="hosts-title">
        <div className="card-head">
          <h2 id="hosts-title">Query hosts</h2>
          {anyAction && (
            <label className="check" title="Install on an unlocked host even for reboot-required patches; lock the last or the active controller">
              <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Force (--force for Install and Lock)
            </label>
          )}
        </div>
        <div className="scroll">
          <table className="grid" aria-label="Hosts">
            <thead>
              <tr>
                <th scope="col">Hostname</th>
                <th scope="col">IP Address</th>
                <th scope="col">Patch Current</th>
                <th scope="col">Reboot Required</th>
                <th scope="col">Release</th>
                <th scope="col">State</th>
                <th scope="col">Administrative</th>
                <th scope="col">Operational</th>
                <th scope="col">Availability</th>
                <th scope="col">Install</th>
                {anyAction && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {data.hosts.length === 0 && (
                <tr>
                  <td colSpan={11} className="empty">
                    No hosts have connected yet.
                  </td>
                </tr>
              )}
              {data.hosts.map((h) => {
                const ev = data.installs[h.hostname];
                const install = ev ?? h.install ?? undefined;
                return <HostRow key={h.hostname} h={h} install={install} session={session} force={force} />;
              })}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
