import { useEffect, useRef, useState } from "react";
import { api, errorText, uploadPatches, type PatchDetails, type Session, type UploadResult } from "./api";
import { OutcomeView, useAction, type Outcome } from "./components";
import type { ConsoleData } from "./live";

const COMMIT_WARNING = "WARNING: Committing a patch is an irreversible operation. Committed patches cannot be removed.";

function Details({ id, version, onClose }: { id: string; version: number; onClose: () => void }) {
  const [p, setP] = useState<PatchDetails | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    api
      .patch(id)
      .then((r) => live && (setP(r.patch), setError("")))
      .catch((e) => live && (setP(null), setError(errorText(e))));
    return () => {
      live = false;
    };
  }, [id, version]);
  return (
    <section className="card details" aria-labelledby="details-title">
      <div className="card-head">
        <h2 id="details-title">Patch {id}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {p && (
        <dl className="kv">
          <dt>Release</dt>
          <dd>{p.release}</dd>
          <dt>Patch State</dt>
          <dd>{p.patchState}</dd>
          <dt>Repo State</dt>
          <dd>{p.repoState}</dd>
          <dt>Status</dt>
          <dd>{p.status}</dd>
          <dt>Unremovable</dt>
          <dd>{p.unremovable ? "Y" : "N"}</dd>
          <dt>RR</dt>
          <dd>{p.rr ? "Y" : "N"}</dd>
          {p.applyActiveReleaseOnly && (
            <>
              <dt>Apply Active Release Only</dt>
              <dd>Y</dd>
            </>
          )}
          <dt>Summary</dt>
          <dd>{p.summary}</dd>
          <dt>Description</dt>
          <dd className="pre">{p.description}</dd>
          <dt>Install Instructions</dt>
          <dd className="pre">{p.installInstructions}</dd>
          <dt>Warnings</dt>
          <dd className="pre">{p.warnings}</dd>
          <dt>Requires</dt>
          <dd>{p.requires.join(", ")}</dd>
          <dt>Required by</dt>
          <dd>{p.requiredBy.join(", ")}</dd>
          <dt>Contents</dt>
          <dd>
            <ul className="plain">
              {p.contents.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          </dd>
          <dt>Signed by</dt>
          <dd>{p.signer}</dd>
        </dl>
      )}
    </section>
  );
}

function Upload() {
  const input = useRef<HTMLInputElement>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<number | null>(null);
  const [results, setResults] = useState<UploadResult[]>([]);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const upload = async () => {
    setBusy(true);
    setError("");
    setResults([]);
    setProgress(0);
    try {
      setResults(await uploadPatches(files, setProgress));
      setFiles([]);
      if (input.current) input.current.value = "";
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const outcome: Outcome = {
    info: results
      .map((r) => r.info.trim())
      .filter(Boolean)
      .join("\n"),
    warning: results
      .map((r) => r.warning.trim())
      .filter(Boolean)
      .join("\n"),
    // One line per refused file, named (the CLI prints them in the order of the files given).
    error: [...results.filter((r) => r.error.trim()).map((r) => `${r.file}: ${r.error.trim()}`), error].filter(Boolean).join("\n"),
  };
  return (
    <section className="card upload" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload patches</h2>
      <div className="row">
        <label htmlFor="patch-files">Patch files</label>
        <input id="patch-files" ref={input} type="file" accept=".patch" multiple onChange={(e) => setFiles(e.target.files ? [...e.target.files] : [])} />
        <button type="button" disabled={busy || files.length === 0} onClick={() => void upload()}>
          Upload
        </button>
        {progress !== null && (
          <>
            <progress aria-label="Upload progress" max={100} value={Math.round(progress * 100)} />
            <span>{Math.round(progress * 100)}%</span>
          </>
        )}
      </div>
      <OutcomeView outcome={outcome} label="Upload result" />
    </section>
  );
}

export function PatchesPanel({ session, data }: { session: Session; data: ConsoleData }) {
  const can = session.permissions;
  const [selected, setSelected] = useState<string[]>([]);
  const [showing, setShowing] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<{ ids: string[]; listed: string[]; info: string } | null>(null);
  const action = useAction();
  const ids = data.patches.map((p) => p.id);
  const sel = selected.filter((id) => ids.includes(id));
  const showRepo = data.patches.some((p) => p.patchState === "n/a");
  const anyAction = can.apply || can.remove || can.delete || can.commit;

  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  const simple = (fn: (ids: string[]) => Promise<{ info: string; warning: string }>) => () =>
    action.run(async () => {
      const r = await fn(sel);
      return { info: r.info, warning: r.warning };
    });

  const startCommit = () =>
    action.run(async () => {
      // As `sw-patch commit`: list what will be committed, then the dry run, then ask.
      try {
        const dry = await api.commit(sel, true);
        setConfirm({ ids: sel, listed: dry.patchIds, info: dry.info });
      } catch (e) {
        return { error: `${errorText(e)}\nAborting...` };
      }
    });
  const doCommit = () => {
    const c = confirm;
    setConfirm(null);
    if (!c) return;
    void action.run(async () => {
      const r = await api.commit(c.ids, false);
      return { info: r.info };
    });
  };

  return (
    <div className="panel">
      <h1>Patches</h1>
      {can.upload && <Upload />}
      <section className="card" aria-labelledby="query-title">
        <div className="card-head">
          <h2 id="query-title">Query</h2>
          <div className="filters">
            <label htmlFor="f-show">Show</label>
            <select id="f-show" value={data.filter.show} onChange={(e) => data.setFilter({ ...data.filter, show: e.target.value })}>
              <option value="all">all</option>
              <option value="applied">applied</option>
              <option value="available">available</option>
              <option value="committed">committed</option>
            </select>
            <label htmlFor="f-release">Release</label>
            <select id="f-release" value={data.filter.release} onChange={(e) => data.setFilter({ ...data.filter, release: e.target.value })}>
              <option value="">all releases</option>
              {data.releases.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
        </div>
        {anyAction && (
          <div className="toolbar" role="group" aria-label="Patch actions">
            <span className="hint">{sel.length ? `${sel.length} selected: ${sel.join(", ")}` : "Select patches to act on"}</span>
            {can.apply && (
              <button type="button" disabled={action.busy || sel.length === 0} onClick={simple(api.apply)}>
                Apply
              </button>
            )}
            {can.remove && (
              <button type="button" disabled={action.busy || sel.length === 0} onClick={simple(api.remove)}>
                Remove
              </button>
            )}
            {can.delete && (
              <button type="button" disabled={action.busy || sel.length === 0} onClick={simple(api.delete)}>
                Delete
              </button>
            )}
            {can.commit && (
              <button type="button" disabled={action.busy || sel.length === 0} onClick={() => void startCommit()}>
                Commit
              </button>
            )}
          </div>
        )}
        <OutcomeView outcome={action.outcome} label="Patch action result" />
        {confirm && (
          <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="commit-title">
            <h3 id="commit-title">Commit patches</h3>
            <p>The following patches will be committed:</p>
            <ul className="plain">
              {confirm.listed.map((id) => (
                <li key={id}>{id}</li>
              ))}
            </ul>
            <pre className="info">{confirm.info.trim()}</pre>
            <p className="warning">{COMMIT_WARNING}</p>
            <p>Would you like to continue?</p>
            <div className="row">
              <button type="button" className="danger" onClick={doCommit}>
                Commit
              </button>
              <button type="button" onClick={() => (setConfirm(null), action.setOutcome({ info: "Aborting..." }))}>
                Cancel
              </button>
            </div>
          </div>
        )}
        <div className="scroll">
          <table className="grid" aria-label="Patches">
            <thead>
              <tr>
                {anyAction && (
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select all patches"
                      checked={ids.length > 0 && sel.length === ids.length}
                      onChange={(e) => setSelected(e.target.checked ? ids : [])}
                    />
                  </th>
                )}
                <th scope="col">Patch ID</th>
                <th scope="col">RR</th>
                <th scope="col">Release</th>
                {showRepo && <th scope="col">Repo State</th>}
                <th scope="col">Patch State</th>
                <th scope="col">Summary</th>
              </tr>
            </thead>
            <tbody>
              {data.patches.length === 0 && (
                <tr>
                  <td colSpan={7} className="empty">
                    No patches.
                  </td>
                </tr>
              )}
              {data.patches.map((p) => (
                <tr key={p.id} className={sel.includes(p.id) ? "selected" : undefined}>
                  {anyAction && (
                    <td>
                      <input type="checkbox" aria-label={`Select ${p.id}`} checked={sel.includes(p.id)} onChange={() => toggle(p.id)} />
                    </td>
                  )}
                  <th scope="row">
                    <button type="button" className="link" title="Show details" onClick={() => setShowing(p.id)}>
                      {p.id}
                    </button>
                  </th>
                  <td>{p.rr ? "Y" : "N"}</td>
                  <td>{p.release}</td>
                  {showRepo && <td>{p.repoState}</td>}
                  <td>
                    <span className={`state state-${p.patchState.toLowerCase()}`}>{p.patchState}</span>
                  </td>
                  <td className="muted">{p.summary}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {showing && <Details id={showing} version={data.version} onClose={() => setShowing(null)} />}
    </div>
  );
}
