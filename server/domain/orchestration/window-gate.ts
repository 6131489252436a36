import type { Clock } from "./clock.js";
import type { Strategy } from "./model.js";
import { parseWindow, windowStatus } from "./windows.js";

/** Options of {@link createWindowGate}. */
export interface WindowGateOptions {
  clock: Clock;
  /** Saves the strategy after a window_state change. */
  persist(): Promise<void>;
  /** Longest single wait (clock ms) before the gate looks again (abort requests, restarts). Default 1000. */
  pollMs?: number;
}

/**
 * The maintenance-window gate the runner asks before a stage (its hosts) starts: resolves false at
 * once when the strategy may go on (no windows, or inside a window before its cutoff); otherwise it
 * records "waiting for window …" in the strategy, waits until the next window opens (or an abort
 * is requested) and resolves true: the runner then leaves the phase and enters it again, with
 * fresh stage and phase deadlines. All state is in the strategy (persisted), so a restarted
 * controller waits for the same window.
 */
export function createWindowGate(o: WindowGateOptions): (s: Strategy, signal: AbortSignal) => Promise<boolean> {
  const pollMs = o.pollMs ?? 1000;
  const set = async (s: Strategy, state: string, next: number | undefined) => {
    const iso = next === undefined ? "" : new Date(next).toISOString();
    if (s.windowState === state && (s.nextWindowStart ?? "") === iso) return;
    s.windowState = state;
    s.nextWindowStart = iso;
    await o.persist();
  };
  return async (s, signal) => {
    const windows = s.windows ?? [];
    if (windows.length === 0) return false;
    const specs = windows.map(parseWindow);
    const tz = s.windowTz || "UTC";
    let waited = false;
    for (;;) {
      if (s.abortRequested || signal.aborted) return waited;
      const now = o.clock.now();
      const st = windowStatus(specs, tz, s.cutoffMinutes ?? 0, now);
      if (st.open) {
        await set(s, st.state, undefined);
        return waited;
      }
      await set(s, st.state, st.nextStart);
      waited = true;
      await o.clock.sleep(Math.max(1, Math.min(pollMs, (st.nextStart ?? now + pollMs) - now)), signal);
    }
  };
}
