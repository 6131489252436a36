import { setMaxListeners } from "node:events";
import { isAbortError } from "abort-controller-x";
import type { StepOutcome } from "./steps.js";

/**
 * Runs `fn` with a timer: expiry aborts it and yields `timed-out` (with `timeoutReason`); an abort
 * of `signal` (the engine's) propagates as AbortError; any other error yields `failed` with its
 * message.
 */
export async function withTimer(limitMs: number, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<StepOutcome>, timeoutReason = ""): Promise<StepOutcome> {
  const ac = new AbortController();
  // A parallel stage watches one install per host on this signal (up to 100).
  setMaxListeners(0, ac.signal);
  const onAbort = () => ac.abort();
  signal.addEventListener("abort", onAbort);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<StepOutcome>((resolve) => {
    timer = setTimeout(
      () => {
        ac.abort();
        resolve({ result: "timed-out", reason: timeoutReason });
      },
      Math.max(0, Math.min(limitMs, 2_147_000_000)),
    );
  });
  try {
    const run = fn(ac.signal).catch((e: unknown): StepOutcome => {
      if (isAbortError(e) || ac.signal.aborted) {
        if (signal.aborted) throw e;
        return { result: "timed-out", reason: timeoutReason };
      }
      return { result: "failed", reason: (e as Error)?.message ?? String(e) };
    });
    const outcome = await Promise.race([run, timedOut]);
    if (signal.aborted) throw Object.assign(new Error("The operation has been aborted"), { name: "AbortError" });
    return outcome;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
