/**
 * The controller pair at the gRPC edge (issue 19): a standby controller answers every RPC UNAVAILABLE naming the
 * active controller, both in words and in a machine-readable trailer clients follow; an active controller's
 * calls are bound to its term, so that when it steps down its open streams (watchers, agent links) and calls
 * in flight end with the same answer; `SwactHost` naming this controller hands leadership over.
 *
 * Passed through on both: GetControllerInfo (says the role), the health and reflection services.
 */
import { Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc";
import type { LeadershipStatus } from "../domain/leadership/leadership.js";
import { ReasonedServerError } from "./errors.js";

/** Trailer naming the active controller as `ID@HOST:PORT` on every standby answer (absent when none is known). */
export const ACTIVE_CONTROLLER_TRAILER = "swpatch-active";
/** Reason (swpatch-error-reason) of a standby answer. */
export const STANDBY_REASON = "STANDBY";

/** What the gate needs of the pair. */
export interface PairView {
  status(): LeadershipStatus;
  /** The current term when active; its signal aborts when it ends. */
  term(): { epoch: number; signal: AbortSignal } | undefined;
  /** Hands leadership to the peer; resolves with the new active controller's id ("" when none took over in time). */
  swact(): Promise<string>;
}

const PASS_THROUGH = new Set(["/swpatch.v1.PatchService/GetControllerInfo", "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"]);
const SWACT = "/swpatch.v1.HostService/SwactHost";

/** The UNAVAILABLE a standby answers, naming the active controller when known (and setting the trailer). */
export function standbyError(s: LeadershipStatus, context?: CallContext): ReasonedServerError {
  const a = s.active && s.active.controllerId !== s.self.controllerId ? s.active : undefined;
  if (!a) return new ReasonedServerError(Status.UNAVAILABLE, `standby: no active controller is known at the moment (this is ${s.self.controllerId})`, STANDBY_REASON);
  context?.trailer.set(ACTIVE_CONTROLLER_TRAILER, `${a.controllerId}@${a.address}`);
  return new ReasonedServerError(Status.UNAVAILABLE, `standby: the active controller is ${a.controllerId} at ${a.address}`, STANDBY_REASON, {
    activeController: a.controllerId,
    activeAddress: a.address,
  });
}

/**
 * The gate middleware; with no pair (a single controller) it passes every call through. Install it right inside
 * the error middleware (so the reason trailers are sent) and outside auth.
 */
export function standbyGate(view: PairView | undefined) {
  return async function* standbyGateMiddleware<Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
    const path = call.method.path;
    if (!view || PASS_THROUGH.has(path) || path.startsWith("/grpc.reflection.")) return yield* call.next(call.request, context);
    const term = view.term();
    if (!term) throw standbyError(view.status(), context);
    if (path === SWACT && !call.requestStream && !call.responseStream) {
      const host = (call.request as { host?: string }).host ?? "";
      const self = view.status().self.controllerId;
      if (host === self) return { activeController: await view.swact() } as Res;
      if (/^controller-[01]$/.test(host)) {
        throw new ReasonedServerError(Status.FAILED_PRECONDITION, `Rejected: ${host} is not the active controller`, "NOT_ACTIVE", { hostname: host });
      }
    }
    const signal = AbortSignal.any([context.signal, term.signal]);
    const endedByStepDown = () => term.signal.aborted && !context.signal.aborted;
    try {
      if (!call.responseStream) return yield* call.next(call.request, { ...context, signal });
      yield* call.next(call.request, { ...context, signal });
    } catch (e) {
      if (endedByStepDown()) throw standbyError(view.status(), context);
      throw e;
    }
    if (endedByStepDown()) throw standbyError(view.status(), context);
    return undefined;
  };
}
