import { delay } from "abort-controller-x";

/**
 * Wall-clock time for the engine's maintenance windows (windows.ts): unit tests drive a fake one,
 * the controller uses {@link systemClock}.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with AbortError when `signal` fires. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(signal, Math.max(0, ms)),
};
