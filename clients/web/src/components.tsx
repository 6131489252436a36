import { Component, useEffect, useState, type ErrorInfo, type ReactNode } from "react";
import { errorText } from "./api";

/** What an action said: info and warning lines (CLI output) or the refusal, shown beside it. */
export interface Outcome {
  info?: string;
  warning?: string;
  error?: string;
}

export function OutcomeView({ outcome, label }: { outcome: Outcome | undefined; label: string }) {
  if (!outcome) return null;
  const info = (outcome.info ?? "").trim();
  const warning = (outcome.warning ?? "").trim();
  const error = (outcome.error ?? "").trim();
  if (!info && !warning && !error) return null;
  return (
    <div className="outcome" aria-label={label}>
      {info && (
        <pre className="info" role="status">
          {info}
        </pre>
      )}
      {warning && <pre className="warning">{warning}</pre>}
      {error && (
        <pre className="error" role="alert">
          {error}
        </pre>
      )}
    </div>
  );
}

/** Runs an action, tracking "busy" and its outcome; errors become text (never thrown). */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const run = async (fn: () => Promise<Outcome | void>) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      const r = await fn();
      setOutcome(r ?? undefined);
    } catch (e) {
      setOutcome({ error: errorText(e) });
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, setOutcome, run };
}

/** Last line of defence: a rendering error shows words and a way back, never a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { message: string | null }> {
  override state = { message: null as string | null };
  static getDerivedStateFromError(e: unknown) {
    return { message: e instanceof Error ? e.message : String(e) };
  }
  override componentDidCatch(_e: unknown, _info: ErrorInfo) {
    /* nothing to report to: the message is on screen */
  }
  override render() {
    if (this.state.message !== null) {
      return (
        <main className="fatal" role="alert">
          <h1>The console hit a problem</h1>
          <p>Something on this page could not be shown: {this.state.message}</p>
          <p>
            <button type="button" onClick={() => window.location.reload()}>
              Reload
            </button>
          </p>
        </main>
      );
    }
    return this.props.children;
  }
}

export function yesNo(b: boolean): string {
  return b ? "Yes" : "No";
}

/** A time as the operator reads it: local date and time with the zone, e.g. "2026-12-03 14:05:09 UTC". */
export function fmtDate(s: string): string {
  if (!s) return "";
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
      timeZoneName: "short",
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour === "24" ? "00" : parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName ?? ""}`.trim();
}

/** Seconds until `deadline` (ISO), counting down once a second; nothing once it passed. */
export function TimeLeft({ deadline }: { deadline: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  const left = Math.ceil((Date.parse(deadline) - now) / 1000);
  if (!Number.isFinite(left) || left <= 0) return null;
  const text =
    left >= 3600 ? `${Math.floor(left / 3600)} h ${Math.floor((left % 3600) / 60)} min` : left >= 60 ? `${Math.floor(left / 60)} min ${left % 60} s` : `${left} s`;
  return <span className="time-left">{text} left</span>;
}
