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
 * It also caps the watch streams (WatchEvents, WatchOperation, WatchStrategy): at most
 * `maxWatchStreams` open in total and `maxWatchStreamsPerCaller` per caller (token; the peer
 * address for a call without one); a watch beyond either is refused RESOURCE_EXHAUSTED
 * (reason WATCH_STREAM_LIMIT) naming the limit and its flag, before its handler runs.
 *
 * INVARIANTS: `open` holds exactly the controllers of calls whose handler is still running (added
 * before the handler starts, removed in its `finally`); `watches`/`watchesBy` count exactly the
 * watch calls among them (same places); once `closing` is true it never becomes false again, and
 * every streaming call that starts after it is refused before its handler runs.
 * Single-threaded (Node event loop); no await between the checks and the registration.
 */
import { Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc";
import { ReasonedServerError } from "./errors.js";

/** The status text every stream ended by shutdown carries. */
export const SHUTTING_DOWN_MESSAGE = "controller is shutting down";

function shuttingDown(): ReasonedServerError {
  return new ReasonedServerError(Status.UNAVAILABLE, SHUTTING_DOWN_MESSAGE, "SHUTTING_DOWN");
}

/** Default of `--max-watch-streams`: watch streams open at once, all callers together. */
export const DEFAULT_MAX_WATCH_STREAMS = 1024;
/** Default of `--max-watch-streams-per-caller`. */
export const DEFAULT_MAX_WATCH_STREAMS_PER_CALLER = 128;
/** Reason of the RESOURCE_EXHAUSTED refusing a watch beyond a cap. */
export const WATCH_STREAM_LIMIT_REASON = "WATCH_STREAM_LIMIT";

/** The caps of {@link StreamTracker}. */
export interface WatchStreamLimits {
  maxWatchStreams?: number;
  maxWatchStreamsPerCaller?: number;
}

const WATCH_METHOD = /\/Watch[A-Za-z]+$/;

/** See the module comment. Attach `middleware` inside the error and auth middlewares so the reason is sent and the caller known. */
export class StreamTracker {
  private readonly open = new Set<AbortController>();
  private closing = false;
  private watches = 0;
  private readonly watchesBy = new Map<string, number>();
  private readonly maxTotal: number;
  private readonly maxPerCaller: number;

  constructor(limits: WatchStreamLimits = {}) {
    this.maxTotal = limits.maxWatchStreams ?? DEFAULT_MAX_WATCH_STREAMS;
    this.maxPerCaller = limits.maxWatchStreamsPerCaller ?? DEFAULT_MAX_WATCH_STREAMS_PER_CALLER;
  }

  /** Watch streams open now: in total, and of one caller key (see {@link callerKey}). */
  watchCount(key?: string): number {
    return key === undefined ? this.watches : (this.watchesBy.get(key) ?? 0);
  }

  /** Counts a new watch of `key`, or throws RESOURCE_EXHAUSTED when a cap is reached. */
  private admitWatch(key: string): void {
    const mine = this.watchesBy.get(key) ?? 0;
    if (mine >= this.maxPerCaller) {
      throw new ReasonedServerError(
        Status.RESOURCE_EXHAUSTED,
        `too many watch streams for this caller: ${mine} open, the limit is ${this.maxPerCaller} (--max-watch-streams-per-caller)`,
        WATCH_STREAM_LIMIT_REASON,
      );
    }
    if (this.watches >= this.maxTotal) {
      throw new ReasonedServerError(
        Status.RESOURCE_EXHAUSTED,
        `too many watch streams: ${this.watches} open, the limit is ${this.maxTotal} (--max-watch-streams)`,
        WATCH_STREAM_LIMIT_REASON,
      );
    }
    this.watches++;
    this.watchesBy.set(key, mine + 1);
  }

  private releaseWatch(key: string): void {
    this.watches--;
    const n = (this.watchesBy.get(key) ?? 1) - 1;
    if (n > 0) this.watchesBy.set(key, n);
    else this.watchesBy.delete(key);
  }

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
    const admit = (key: string) => this.admitWatch(key);
    const release = (key: string) => this.releaseWatch(key);
    return async function* streamTrackerMiddleware<Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
      if (!call.responseStream) return yield* call.next(call.request, context);
      if (isClosing()) throw shuttingDown();
      const watchKey = WATCH_METHOD.test(call.method.path) ? callerKey(context) : undefined;
      if (watchKey !== undefined) admit(watchKey);
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
        if (watchKey !== undefined) release(watchKey);
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

/** Whose watch a call is: its token id (set by the auth middleware), else its peer address. */
export function callerKey(context: CallContext): string {
  const caller = (context as CallContext & { caller?: { tokenId?: string } }).caller;
  return caller?.tokenId ? `token:${caller.tokenId}` : `peer:${context.peer.replace(/:\d+$/, "")}`;
}
