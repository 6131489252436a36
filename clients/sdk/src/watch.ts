import { delay, isAbortError } from "abort-controller-x";
import type { CallOptions } from "nice-grpc";
import type { PatchServiceClient } from "./gen/swpatch/v1/patch_service.js";
import type { HostServiceClient } from "./gen/swpatch/v1/host_service.js";
import type { OrchestrationServiceClient, Strategy } from "./gen/swpatch/v1/orchestration_service.js";
import type { Event, InstallProgress } from "./gen/swpatch/v1/types.js";
import { isFellBehindError, isTransientError } from "./errors.js";

/** Reconnect options shared by the watch helpers. */
export interface WatchResumeOptions {
  /** First reconnect delay in ms (default 200), doubled up to maxBackoffMs. */
  initialBackoffMs?: number;
  /** Longest reconnect delay in ms (default 5000). */
  maxBackoffMs?: number;
}

/** Options of {@link watchOperation} and {@link watchStrategy}: call options plus reconnect behaviour. */
export interface WatchOptions extends CallOptions, WatchResumeOptions {
  /** Reconnect after UNAVAILABLE or WATCH_FELL_BEHIND (default true); false: throw the error, the caller retries. */
  resume?: boolean;
  /** Called before each reconnect with the error that ended the previous stream. */
  onReconnect?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** Options of {@link watchEvents}. */
export interface WatchEventsOptions extends WatchResumeOptions {
  /** Start after this sequence number (0 = from the start of the log). */
  afterSequence?: number;
  /** Only these kinds (e.g. "patch.state"); empty = all. */
  kinds?: string[];
  patchId?: string;
  hostname?: string;
  operationId?: string;
  /** Stops the watch; the iteration then throws an AbortError. */
  signal?: AbortSignal;
  /** Called before each reconnect with the error that ended the previous stream. */
  onReconnect?: (info: { attempt: number; delayMs: number; afterSequence: number; error: unknown }) => void;
}

/**
 * A stream ended by one of these is resumed: the controller went away (UNAVAILABLE, a broken
 * transport) or ended the stream because this client read it too slowly (RESOURCE_EXHAUSTED,
 * reason WATCH_FELL_BEHIND).
 */
function isResumable(e: unknown): boolean {
  return !isAbortError(e) && (isTransientError(e) || isFellBehindError(e));
}

function backoffMs(attempt: number, o: WatchResumeOptions): number {
  return Math.min(o.maxBackoffMs ?? 5000, (o.initialBackoffMs ?? 200) * 2 ** (attempt - 1));
}

/** Before reconnect `attempt`: tells `tell` the delay, then waits it (or until `signal` aborts). */
async function backoff(attempt: number, options: WatchResumeOptions, signal: AbortSignal | undefined, tell: (delayMs: number) => void): Promise<void> {
  const delayMs = backoffMs(attempt, options);
  tell(delayMs);
  await delay(signal ?? new AbortController().signal, delayMs);
}

function callOptionsOf(o: WatchOptions): CallOptions {
  const { initialBackoffMs: _a, maxBackoffMs: _b, onReconnect: _c, resume: _d, ...call } = o;
  return call;
}

/**
 * Streams controller events as an async iterable. When the controller goes away (UNAVAILABLE or a
 * broken transport), or ends the stream because this client fell behind (WATCH_FELL_BEHIND), it
 * reconnects with exponential backoff and resumes after the last sequence number it delivered,
 * so no event is lost or repeated. Other errors end the iteration; history older than the
 * controller's `--event-retention` ends it with {@link EventsPrunedError} (OUT_OF_RANGE).
 */
export async function* watchEvents(patches: Pick<PatchServiceClient<object>, "watchEvents">, options: WatchEventsOptions = {}): AsyncGenerator<Event, void, undefined> {
  const { signal } = options;
  let last = options.afterSequence ?? 0;
  let attempt = 0;
  for (;;) {
    let error: unknown;
    try {
      const stream = patches.watchEvents(
        {
          afterSequence: last,
          kinds: options.kinds ?? [],
          patchId: options.patchId ?? "",
          hostname: options.hostname ?? "",
          operationId: options.operationId ?? "",
        },
        { signal },
      );
      for await (const response of stream) {
        const event = response.event;
        if (!event || event.sequence <= last) continue;
        last = event.sequence;
        attempt = 0;
        yield event;
      }
      error = new Error("event stream ended");
    } catch (e) {
      if (!isResumable(e)) throw e;
      error = e;
    }
    if (signal?.aborted) return;
    await backoff(++attempt, options, signal, (delayMs) => options.onReconnect?.({ attempt, delayMs, afterSequence: last, error }));
  }
}

/**
 * Streams one host-install operation's progress (`WatchOperation`): everything so far, then each
 * new message, ending after the terminal message (phase DONE, FAILED or REJECTED). When the
 * controller goes away or ends the stream because this client fell behind, it reconnects with
 * backoff; the controller replays the operation's progress from its start and the messages
 * already delivered are skipped, so none is repeated.
 */
export async function* watchOperation(
  hosts: Pick<HostServiceClient<object>, "watchOperation">,
  operationId: string,
  options: WatchOptions = {},
): AsyncGenerator<InstallProgress, void, undefined> {
  const call = callOptionsOf(options);
  let delivered = 0;
  let attempt = 0;
  for (;;) {
    let error: unknown;
    try {
      let seen = 0;
      for await (const response of hosts.watchOperation({ operationId }, call)) {
        if (!response.progress) continue;
        if (++seen <= delivered) continue;
        delivered = seen;
        attempt = 0;
        yield response.progress;
        if (response.progress.terminal) return;
      }
      return;
    } catch (e) {
      if (!isResumable(e) || options.resume === false) throw e;
      error = e;
    }
    if (call.signal?.aborted) return;
    await backoff(++attempt, options, call.signal, (delayMs) => options.onReconnect?.({ attempt, delayMs, error }));
  }
}

/**
 * Streams the current strategy, then a snapshot after every change, until `signal` aborts. When
 * the controller goes away or ends the stream because this client fell behind, it reconnects with
 * backoff and starts again from the current strategy (re-fetched: snapshots in between are not
 * replayed; one equal to the last delivered is not repeated).
 */
export async function* watchStrategy(
  orchestration: Pick<OrchestrationServiceClient<object>, "watchStrategy">,
  options: WatchOptions = {},
): AsyncGenerator<Strategy, void, undefined> {
  const call = callOptionsOf(options);
  let last: Strategy | undefined;
  let attempt = 0;
  for (;;) {
    let error: unknown;
    let first = true;
    try {
      for await (const response of orchestration.watchStrategy({}, call)) {
        const resumed = first && last !== undefined;
        first = false;
        if (!response.strategy) continue;
        // Only the first snapshot after a reconnect can repeat the last one delivered.
        if (resumed && JSON.stringify(response.strategy) === JSON.stringify(last)) continue;
        last = response.strategy;
        attempt = 0;
        yield response.strategy;
      }
      return;
    } catch (e) {
      if (!isResumable(e) || options.resume === false) throw e;
      error = e;
    }
    if (call.signal?.aborted) return;
    await backoff(++attempt, options, call.signal, (delayMs) => options.onReconnect?.({ attempt, delayMs, error }));
  }
}
