/**
 * Following the active controller of a pair (issue 19): a client given several endpoints (`"a,b"`) sends each
 * call to the controller it believes active. A standby answers UNAVAILABLE (reason STANDBY) naming the active
 * one in the `swpatch-active` trailer (`ID@HOST:PORT`); a controller that cannot be reached fails the call
 * before it is sent. Both mean the call did not run, so it is sent again to the named active controller (or
 * the next endpoint), with backoff, for up to `followTimeoutMs`. A call that failed after it may have run is
 * never re-sent; a stream that already delivered a message is not re-sent either (the watch helpers resume
 * those from their last sequence). A client-streaming call (upload) is re-sent too: the messages its request
 * stream gave so far are kept (replay.ts, up to 8 MiB) and given again; past that bound it is not re-sent.
 */
import { delay } from "abort-controller-x";
import { Status, type CallOptions } from "nice-grpc";
import { SwPatchError } from "./errors.js";
import { ReplayableStream } from "./replay.js";

/** Trailer the standby names the active controller in. */
export const ACTIVE_CONTROLLER_TRAILER = "swpatch-active";

/** One endpoint's ready clients. */
export interface FollowTarget<C> {
  readonly endpoint: string;
  readonly clients: C;
}

/** Whether `e` says the call never ran on a controller (a standby's answer, or no connection at all). */
export function notExecuted(e: unknown): boolean {
  if (!(e instanceof SwPatchError) || e.code !== Status.UNAVAILABLE) return false;
  if (e.reason === "STANDBY") return true;
  return e.reason === undefined && /ECONNREFUSED|No connection established|connect failed|Failed to connect|Name resolution failed|EHOSTUNREACH/i.test(e.message);
}

/** Backoff before re-sending attempt `n` (1-based): 100 ms doubling to 1 s. */
function backoffMs(n: number): number {
  return Math.min(1000, 100 * 2 ** (n - 1));
}

/**
 * Routes calls over the targets. INVARIANTS: `current` always indexes `targets`; it moves only on a failure that
 * proves the call did not run (to the named active target when one is named and known, else to the next one).
 */
export class ActiveRouter<C> {
  private current = 0;

  constructor(
    private readonly targets: FollowTarget<C>[],
    private readonly addTarget: (endpoint: string) => FollowTarget<C> | undefined,
    private readonly followTimeoutMs = 15_000,
  ) {}

  /** The endpoint calls go to now. */
  get endpoint(): string {
    return this.targets[this.current]!.endpoint;
  }

  /** Every target (for close()). */
  all(): readonly FollowTarget<C>[] {
    return this.targets;
  }

  private moveAfter(failed: FollowTarget<C>, active: string | undefined): void {
    if (this.targets[this.current] !== failed) return; // another call already moved on
    const address = active?.includes("@") ? active.slice(active.indexOf("@") + 1) : undefined;
    if (address) {
      let i = this.targets.findIndex((t) => t.endpoint === address);
      if (i < 0) {
        const added = this.addTarget(address);
        if (added) i = this.targets.push(added) - 1;
      }
      if (i >= 0 && i !== this.current) {
        this.current = i;
        return;
      }
    }
    this.current = (this.current + 1) % this.targets.length;
  }

  /**
   * Runs a unary or client-streaming call, following the active controller; sent again after a failure proving it
   * did not run while `resend()` says it can be.
   */
  async unary<R>(call: (clients: C, options: CallOptions) => Promise<R>, options: CallOptions | undefined, resend: boolean | (() => boolean)): Promise<R> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const target = this.targets[this.current]!;
      let active: string | undefined;
      const o: CallOptions = { ...options, onTrailer: (t) => ((active = trailerValue(t.get(ACTIVE_CONTROLLER_TRAILER))), options?.onTrailer?.(t)) };
      try {
        return await call(target.clients, o);
      } catch (e) {
        if (!notExecuted(e)) throw e;
        this.moveAfter(target, active);
        if (!(typeof resend === "function" ? resend() : resend) || Date.now() - started > this.followTimeoutMs || options?.signal?.aborted) throw e;
        await delay(options?.signal ?? new AbortController().signal, backoffMs(attempt));
      }
    }
  }

  /**
   * Runs `send` again while it fails with an error proving it did not run (the router has already moved on),
   * with backoff, for up to `followTimeoutMs`: for helpers that build a fresh request stream per call (uploads).
   */
  async resend<R>(send: () => Promise<R>, signal: AbortSignal | undefined): Promise<R> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (e) {
        if (!notExecuted(e) || Date.now() - started > this.followTimeoutMs || signal?.aborted) throw e;
        await delay(signal ?? new AbortController().signal, backoffMs(attempt));
      }
    }
  }

  /** Runs a server-streaming call, following the active controller until its first message. */
  async *stream<R>(call: (clients: C, options: CallOptions) => AsyncIterable<R>, options: CallOptions | undefined): AsyncGenerator<R, void, undefined> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const target = this.targets[this.current]!;
      let active: string | undefined;
      let delivered = false;
      const o: CallOptions = { ...options, onTrailer: (t) => ((active = trailerValue(t.get(ACTIVE_CONTROLLER_TRAILER))), options?.onTrailer?.(t)) };
      try {
        for await (const m of call(target.clients, o)) {
          delivered = true;
          yield m;
        }
        return;
      } catch (e) {
        if (!notExecuted(e)) throw e;
        this.moveAfter(target, active);
        if (delivered || Date.now() - started > this.followTimeoutMs || options?.signal?.aborted) throw e;
        await delay(options?.signal ?? new AbortController().signal, backoffMs(attempt));
      }
    }
  }
}

function trailerValue(v: string | Uint8Array | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : new TextDecoder().decode(v);
}

type AnyMethod = { requestStream: boolean; responseStream: boolean };

/**
 * A client of `definition` whose every method goes through `router`, picking the service's client from each
 * target's clients with `pick`.
 */
export function followingClient<C, S>(definition: { methods: Record<string, AnyMethod> }, router: ActiveRouter<C>, pick: (clients: C) => S): S {
  const out: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(definition.methods)) {
    const invoke = (clients: C, request: unknown, options: CallOptions) =>
      (pick(clients) as Record<string, (r: unknown, o: CallOptions) => never>)[name]!(request, options);
    if (m.responseStream) out[name] = (request: unknown, options?: CallOptions) => router.stream((c, o) => invoke(c, request, o), options);
    else if (!m.requestStream) out[name] = (request: unknown, options?: CallOptions) => router.unary((c, o) => invoke(c, request, o), options, true);
    else {
      // Each attempt gets a fresh iteration of the request stream: the messages already pulled, then the rest.
      out[name] = (request: AsyncIterable<unknown>, options?: CallOptions) => {
        const replay = new ReplayableStream(request);
        return router.unary(
          (c, o) => invoke(c, replay.iterate(), o),
          options,
          () => replay.replayable,
        );
      };
    }
  }
  return out as S;
}
