import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, errorText, setSignedOutHandler, type Session } from "./api";
import { useConsoleData } from "./live";
import { PatchesPanel } from "./PatchesPanel";
import { HostsPanel } from "./HostsPanel";
import { StrategyPanel } from "./StrategyPanel";

type View = "patches" | "hosts" | "orchestration";

const VIEWS: { id: View; label: string }[] = [
  { id: "patches", label: "Patches" },
  { id: "hosts", label: "Hosts" },
  { id: "orchestration", label: "Patch Orchestration" },
];

function viewFromHash(): View {
  const h = window.location.hash.replace(/^#\/?/, "");
  return h === "hosts" || h === "orchestration" ? h : "patches";
}

function SignIn({ onSignedIn, notice }: { onSignedIn: (s: Session) => void; notice: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      onSignedIn(await api.signIn(token));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <h1>sw-patch console</h1>
      <p>Sign in with a controller token (the same tokens and roles as the sw-patch CLI).</p>
      {notice && <p className="notice">{notice}</p>}
      <form onSubmit={submit}>
        <label htmlFor="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checked, setChecked] = useState(false);
  const [notice, setNotice] = useState("");
  const [view, setView] = useState<View>(viewFromHash());

  const signedOut = useCallback(() => {
    setSession(null);
    setNotice("Your session has ended. Sign in again.");
  }, []);

  useEffect(() => {
    setSignedOutHandler(signedOut);
    api
      .session()
      .then((s) => setSession(s))
      .catch(() => setSession(null))
      .finally(() => setChecked(true));
    const onHash = () => setView(viewFromHash());
    window.addEventListener("hashchange", onHash);
    return () => {
      window.removeEventListener("hashchange", onHash);
      setSignedOutHandler(undefined);
    };
  }, [signedOut]);

  const data = useConsoleData(!!session, signedOut);

  if (!checked) return <main className="loading">Loading…</main>;
  if (!session)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          setNotice("");
          setSession(s);
        }}
      />
    );

  const signOut = async () => {
    try {
      await api.signOut();
    } catch {
      /* signed out locally anyway */
    }
    setNotice("");
    setSession(null);
  };

  return (
    <div className="app">
      <header>
        <span className="brand">sw-patch console</span>
        <nav aria-label="Main">
          {VIEWS.map((v) => (
            <a key={v.id} href={`#/${v.id}`} aria-current={view === v.id ? "page" : undefined} className={view === v.id ? "current" : undefined}>
              {v.label}
            </a>
          ))}
        </nav>
        <span className="who">
          <span
            className={`live live-${data.status}`}
            aria-live="polite"
            title={`last event ${data.lastSeq}`}
            data-last-seq={data.lastSeq}
            data-resumed={data.resumed ? "yes" : "no"}
          >
            {data.status === "live" ? "Live" : data.status === "connecting" ? "Connecting…" : "Reconnecting…"}
          </span>{" "}
          Release {session.release} · role <strong>{session.role}</strong>{" "}
          <button type="button" className="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      {data.loadError && (
        <p className="error banner" role="alert">
          {data.loadError}
        </p>
      )}
      <main>
        {view === "patches" && <PatchesPanel session={session} data={data} />}
        {view === "hosts" && <HostsPanel session={session} data={data} />}
        {view === "orchestration" && <StrategyPanel session={session} data={data} />}
      </main>
    </div>
  );
}
