/**
 * Keeps track of every open server-streaming (and bidi) call so that shutdown can end them.
 *
 * A long-lived stream (WatchEvents, WatchOperation, WatchStrategy, AgentService.Connect) only ends
 * when its client goes away or its handler's `context.signal` aborts; grpc-js `tryShutdown` waits
 * for it, so an open watcher used to keep the controller from exiting. The middleware gives each
 * such call a signal that also aborts on {@link StreamTracker.abortAll}; a call ended that way
 * reaches its client as UNAVAILABLE "controller is shutting down" (reason SHUTTING_DOWN), which
 * the SDK's watch helpers treat as transient and resume from their last sequence number.
 *
 * INVARIANTS: `open` holds exactly the controllers of calls whose handler is still running (added
 * before the handler starts, removed in its `finally`); once `closing` is true it never becomes
 * false again, and every streaming call that starts after it is refused before its handler runs.
 * Single-threaded (Node event loop); no await between the `closing` check and the registration.
 */
import { Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc";
import { ReasonedServerError } from "./errors.js";

/** The status text every stream ended by shutdown carries. */
export const SHUTTING_DOWN_MESSAGE = "controller is shutting down";

function shuttingDown(): ReasonedServerError {
  return new ReasonedServerError(Status.UNAVAILABLE, SHUTTING_DOWN_MESSAGE, "SHUTTING_DOWN");
}

/** See the module comment. Attach `middleware` inside the error middleware so the reason is sent. */
export class StreamTracker {
  private readonly open = new Set<AbortController>();
  private closing = false;

  /** Number of streaming calls whose handler is running. */
  get size(): number {
    return this.open.size;
  }

  /**
   * The nice-grpc server middleware: unary and client-streaming calls pass through untouched;
   * a streaming call's handler gets a signal that also aborts on {@link abortAll}.
   */
  middleware() {
    const open = this.open;
    const isClosing = () => this.closing;
    return async function* streamTrackerMiddleware<Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
      if (!call.responseStream) return yield* call.next(call.request, context);
      if (isClosing()) throw shuttingDown();
      const ac = new AbortController();
      open.add(ac);
      const signal = AbortSignal.any([context.signal, ac.signal]);
      const endedByShutdown = () => ac.signal.aborted && !context.signal.aborted;
      try {
        yield* call.next(call.request, { ...context, signal });
      } catch (e) {
        if (endedByShutdown()) throw shuttingDown();
        throw e;
      } finally {
        open.delete(ac);
      }
      if (endedByShutdown()) throw shuttingDown();
      return undefined;
    };
  }

  /**
   * Refuses new streaming calls and aborts every open one; each ends with UNAVAILABLE
   * "controller is shutting down" as soon as its handler notices its signal. Returns how many
   * were open.
   */
  abortAll(): number {
    this.closing = true;
    const n = this.open.size;
    for (const ac of [...this.open]) ac.abort();
    return n;
  }
}
