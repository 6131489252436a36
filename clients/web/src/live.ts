/**
 * Live state of the console: patches, hosts, the strategy and install progress, kept current by
 * the controller's event stream (server-sent events). The browser's EventSource reconnects on
 * its own and sends Last-Event-ID, so the server replays what was missed; after every (re)connect
 * the lists are fetched again as well, so nothing can be lost between a fetch and the stream.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError, errorText, type DomainEventView, type HostView, type InstallView, type PatchSummary, type StrategyView } from "./api";

export interface PatchFilter {
  show: string;
  release: string;
}

export type LiveStatus = "connecting" | "live" | "reconnecting";

export interface ConsoleData {
  patches: PatchSummary[];
  releases: string[];
  hosts: HostView[];
  strategy: StrategyView | null;
  /** Latest install progress per host (from events), kept after the end to show the outcome. */
  installs: Record<string, InstallView>;
  status: LiveStatus;
  lastSeq: number;
  /** True when the last (re)connect resumed from a Last-Event-ID. */
  resumed: boolean;
  loadError: string;
  filter: PatchFilter;
  setFilter(f: PatchFilter): void;
  refresh(): void;
  /** Bumped after every event: panels showing details re-read them. */
  version: number;
}

export function useConsoleData(enabled: boolean, onSignedOut: () => void): ConsoleData {
  const [patches, setPatches] = useState<PatchSummary[]>([]);
  const [releases, setReleases] = useState<string[]>([]);
  const [hosts, setHosts] = useState<HostView[]>([]);
  const [strategy, setStrategy] = useState<StrategyView | null>(null);
  const [installs, setInstalls] = useState<Record<string, InstallView>>({});
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [lastSeq, setLastSeq] = useState(0);
  const [resumed, setResumed] = useState(false);
  const [loadError, setLoadError] = useState("");
  const [filter, setFilterState] = useState<PatchFilter>({ show: "all", release: "" });
  const [version, setVersion] = useState(0);
  // Bumped to reopen the stream after the server closed it for good.
  const [reopen, setReopen] = useState(0);
  const filterRef = useRef(filter);
  const timers = useRef<{ patches?: number; hosts?: number; strategy?: number }>({});

  const loadPatches = useCallback(async () => {
    try {
      const r = await api.patches(filterRef.current.show, filterRef.current.release);
      setPatches(r.patches);
      setReleases(r.releases);
      setLoadError("");
    } catch (e) {
      setLoadError(errorText(e));
    }
  }, []);
  const loadHosts = useCallback(async () => {
    try {
      setHosts((await api.hosts()).hosts);
      setLoadError("");
    } catch (e) {
      setLoadError(errorText(e));
    }
  }, []);
  const loadStrategy = useCallback(async () => {
    try {
      setStrategy((await api.strategy()).strategy);
    } catch (e) {
      setLoadError(errorText(e));
    }
  }, []);

  /** Coalesces bursts of events into one fetch per list. */
  const schedule = useCallback(
    (what: "patches" | "hosts" | "strategy") => {
      if (timers.current[what] !== undefined) return;
      timers.current[what] = window.setTimeout(() => {
        timers.current[what] = undefined;
        void (what === "patches" ? loadPatches() : what === "hosts" ? loadHosts() : loadStrategy());
      }, 120);
    },
    [loadPatches, loadHosts, loadStrategy],
  );

  const refresh = useCallback(() => {
    void loadPatches();
    void loadHosts();
    void loadStrategy();
  }, [loadPatches, loadHosts, loadStrategy]);

  const setFilter = useCallback(
    (f: PatchFilter) => {
      filterRef.current = f;
      setFilterState(f);
      void loadPatches();
    },
    [loadPatches],
  );

  useEffect(() => {
    if (!enabled) return;
    let closed = false;
    const es = new EventSource("/api/events", { withCredentials: true });
    setStatus("connecting");
    es.addEventListener("ready", (ev) => {
      setStatus("live");
      setLastSeq(Number((ev as MessageEvent).lastEventId) || 0);
      try {
        setResumed((JSON.parse((ev as MessageEvent<string>).data) as { resumed?: boolean }).resumed === true);
      } catch {
        setResumed(false);
      }
      refresh();
    });
    es.addEventListener("domain", (ev) => {
      const me = ev as MessageEvent<string>;
      let e: DomainEventView;
      try {
        e = JSON.parse(me.data) as DomainEventView;
      } catch {
        return;
      }
      setLastSeq(e.seq);
      setVersion((v) => v + 1);
      if (e.kind === "install.progress" && e.install) {
        const p = e.install;
        setInstalls((m) => ({ ...m, [p.hostname]: p }));
        if (p.terminal) {
          schedule("hosts");
          schedule("patches");
        }
        return;
      }
      if (e.kind.startsWith("strategy.")) {
        schedule("strategy");
        return;
      }
      if (e.kind.startsWith("alarm.")) return;
      schedule("patches");
      schedule("hosts");
    });
    es.addEventListener("strategy", (ev) => {
      try {
        setStrategy((JSON.parse((ev as MessageEvent<string>).data) as { strategy: StrategyView | null }).strategy);
      } catch {
        /* ignore a malformed snapshot */
      }
    });
    es.addEventListener("signed-out", () => {
      es.close();
      onSignedOut();
    });
    es.onerror = () => {
      if (closed) return;
      setStatus("reconnecting");
      // While it can, the browser reconnects by itself (CONNECTING). CLOSED: the server refused
      // the stream, e.g. it restarted and no longer knows the session. Ask why: a session that is
      // gone signs the page out (the sign-in page, within seconds); otherwise reopen, and while
      // the controller cannot be reached, ask again every 2 s.
      if (es.readyState !== EventSource.CLOSED) return;
      const check = (): void => {
        api.session().then(
          () => {
            if (!closed) window.setTimeout(() => setReopen((n) => n + 1), 1000);
          },
          (e: unknown) => {
            if (closed) return;
            if (e instanceof ApiError && e.status === 401) onSignedOut();
            else window.setTimeout(check, 2000);
          },
        );
      };
      check();
    };
    return () => {
      closed = true;
      es.close();
    };
  }, [enabled, reopen, refresh, schedule, onSignedOut]);

  return { patches, releases, hosts, strategy, installs, status, lastSeq, resumed, loadError, filter, setFilter, refresh, version };
}
