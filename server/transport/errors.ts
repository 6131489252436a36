import { randomUUID } from "node:crypto";
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc";
import { isAbortError } from "abort-controller-x";
import { isDomainError, type DomainErrorKind } from "../domain/errors.js";
import type { Logger } from "../lib/log.js";
import { decodeFailureOf } from "./safe-decode.js";

function decodeError(method: string, why: string): ServerError {
  return new ServerError(Status.INVALID_ARGUMENT, `request to ${method.split("/").pop()} could not be decoded: ${why}`);
}

const KIND_TO_STATUS: Record<DomainErrorKind, Status> = {
  "invalid-argument": Status.INVALID_ARGUMENT,
  "not-found": Status.NOT_FOUND,
  "already-exists": Status.ALREADY_EXISTS,
  "failed-precondition": Status.FAILED_PRECONDITION,
  "permission-denied": Status.PERMISSION_DENIED,
  unauthenticated: Status.UNAUTHENTICATED,
  "resource-exhausted": Status.RESOURCE_EXHAUSTED,
  aborted: Status.ABORTED,
  unavailable: Status.UNAVAILABLE,
  internal: Status.INTERNAL,
};

/** Maps an error thrown by a handler to the ServerError the client sees. */
export function toServerError(e: unknown, log: Logger, method: string): unknown {
  if (e instanceof ServerError) return e;
  if (isDomainError(e)) return new ServerError(KIND_TO_STATUS[e.kind], e.message);
  if (isAbortError(e)) return e;
  const ref = randomUUID().slice(0, 8);
  log.error("unexpected error", { method, ref, error: (e as Error)?.stack ?? String(e) });
  return new ServerError(Status.INTERNAL, `internal error (ref ${ref})`);
}

/**
 * Error and logging middleware: domain errors become their status, anything unexpected becomes
 * INTERNAL "internal error (ref X)" with the stack logged under that ref, never sent.
 */
export function errorMiddleware(log: Logger) {
  return async function* <Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
    const started = Date.now();
    const method = call.method.path;
    try {
      let request = call.request;
      if (call.requestStream) {
        const source = request as AsyncIterable<unknown>;
        request = (async function* () {
          for await (const item of source) {
            const bad = decodeFailureOf(item);
            if (bad !== undefined) throw decodeError(method, bad);
            yield item;
          }
        })() as typeof request;
      } else {
        const bad = decodeFailureOf(request);
        if (bad !== undefined) throw decodeError(method, bad);
      }
      let result;
      if (!call.responseStream) {
        result = yield* call.next(request, context);
      } else {
        yield* call.next(request, context);
      }
      log.debug("rpc", { method, status: "OK", ms: Date.now() - started });
      return result;
    } catch (e) {
      const mapped = toServerError(e, log, method);
      if (mapped instanceof ServerError) {
        log.info("rpc", { method, status: Status[mapped.code], ms: Date.now() - started });
      }
      throw mapped;
    }
  };
}
