import { delay, isAbortError } from "abort-controller-x";
import type { CallOptions } from "nice-grpc";
import type { PatchServiceClient } from "./gen/swpatch/v1/patch_service.js";
import type { HostServiceClient } from "./gen/swpatch/v1/host_service.js";
import type { OrchestrationServiceClient, Strategy } from "./gen/swpatch/v1/orchestration_service.js";
import type { Event, InstallProgress } from "./gen/swpatch/v1/types.js";
import { isTransientError } from "./errors.js";

/** Options of {@link watchEvents}. */
export interface WatchEventsOptions {
  /** Start after this sequence number (0 = from the start of the log). */
  afterSequence?: number;
  /** Only these kinds (e.g. "patch.state"); empty = all. */
  kinds?: string[];
  patchId?: string;
  hostname?: string;
  operationId?: string;
  /** Stops the watch; the iteration then throws an AbortError. */
  signal?: AbortSignal;
  /** First reconnect delay in ms (default 200), doubled up to maxBackoffMs. */
  initialBackoffMs?: number;
  /** Longest reconnect delay in ms (default 5000). */
  maxBackoffMs?: number;
  /** Called before each reconnect with the error that ended the previous stream. */
  onReconnect?: (info: { attempt: number; delayMs: number; afterSequence: number; error: unknown }) => void;
}

/**
 * Streams controller events as an async iterable. When the controller goes away (UNAVAILABLE or a
 * broken transport) it reconnects with exponential backoff and resumes after the last sequence
 * number it delivered, so no event is lost or repeated. Other errors end the iteration.
 */
export async function* watchEvents(patches: Pick<PatchServiceClient<object>, "watchEvents">, options: WatchEventsOptions = {}): AsyncGenerator<Event, void, undefined> {
  const { signal, initialBackoffMs = 200, maxBackoffMs = 5000, onReconnect } = options;
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
      if (isAbortError(e) || !isTransientError(e)) throw e;
      error = e;
    }
    if (signal?.aborted) return;
    attempt += 1;
    const delayMs = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
    onReconnect?.({ attempt, delayMs, afterSequence: last, error });
    await delay(signal ?? new AbortController().signal, delayMs);
  }
}

/**
 * Streams one host-install operation's progress (`WatchOperation`): everything so far, then each
 * new message, ending after the terminal message (phase DONE, FAILED or REJECTED).
 */
export async function* watchOperation(
  hosts: Pick<HostServiceClient<object>, "watchOperation">,
  operationId: string,
  options: CallOptions = {},
): AsyncGenerator<InstallProgress, void, undefined> {
  for await (const response of hosts.watchOperation({ operationId }, options)) {
    if (!response.progress) continue;
    yield response.progress;
    if (response.progress.terminal) return;
  }
}

/** Streams the current strategy, then a snapshot after every change, until `signal` aborts. */
export async function* watchStrategy(
  orchestration: Pick<OrchestrationServiceClient<object>, "watchStrategy">,
  options: CallOptions = {},
): AsyncGenerator<Strategy, void, undefined> {
  for await (const response of orchestration.watchStrategy({}, options)) {
    if (response.strategy) yield response.strategy;
  }
}
