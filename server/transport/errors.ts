import { randomUUID } from "node:crypto";
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc";
import { isAbortError } from "abort-controller-x";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { isDomainError, type DomainErrorKind } from "../domain/errors.js";
import type { Logger } from "../lib/log.js";
import { decodeFailureOf } from "./safe-decode.js";

/**
 * Trailer carrying the machine-readable reason of every error status (e.g. `PATCH_NOT_FOUND`,
 * `TOKEN_MISSING`, `INTERNAL_ERROR`): the `DomainError.reason`, stable across releases. Clients
 * pick their typed error from it (clients/sdk/src/errors.ts, clients/python/swpatch_client/errors.py).
 */
export const ERROR_REASON_TRAILER = "swpatch-error-reason";
/** Trailer naming who defined the reason (always {@link ERROR_DOMAIN}), as google.rpc.ErrorInfo does. */
export const ERROR_DOMAIN_TRAILER = "swpatch-error-domain";
/** The value of {@link ERROR_DOMAIN_TRAILER}. */
export const ERROR_DOMAIN = "swpatch.v1";
/** Reason sent with the INTERNAL status of an unexpected error (its stack is logged, never sent). */
export const INTERNAL_ERROR_REASON = "INTERNAL_ERROR";
/**
 * The standard gRPC rich-error trailer: a binary `google.rpc.Status` whose one detail is a
 * `google.rpc.ErrorInfo` { reason, domain: "swpatch.v1", metadata: patchId/hostname when known },
 * for generic gRPC tooling and clients in other languages. Our own clients read the plain
 * {@link ERROR_REASON_TRAILER}; both always carry the same reason.
 */
export const STATUS_DETAILS_TRAILER = "grpc-status-details-bin";
const ERROR_INFO_TYPE_URL = "type.googleapis.com/google.rpc.ErrorInfo";

/** A ServerError with the machine-readable reason the error middleware sends in the trailers. */
export class ReasonedServerError extends ServerError {
  readonly reason: string;
  /** Context sent as the ErrorInfo metadata (e.g. `patchId`, `hostname`). */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(code: Status, details: string, reason: string, metadata: Record<string, string> = {}) {
    super(code, details);
    this.name = "ReasonedServerError";
    this.reason = reason;
    this.metadata = metadata;
  }
}

/**
 * Encodes `google.rpc.Status { code = 1; message = 2; repeated google.protobuf.Any details = 3 }`
 * with one `google.rpc.ErrorInfo { reason = 1; domain = 2; map<string, string> metadata = 3 }`
 * (field numbers from googleapis google/rpc/status.proto and error_details.proto).
 */
export function encodeStatusDetails(code: Status, message: string, reason: string, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const info = new BinaryWriter().tag(1, WireType.LengthDelimited).string(reason).tag(2, WireType.LengthDelimited).string(ERROR_DOMAIN);
  for (const [k, v] of Object.entries(metadata)) {
    info.tag(3, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(k).tag(2, WireType.LengthDelimited).string(v).join();
  }
  const any = new BinaryWriter().tag(1, WireType.LengthDelimited).string(ERROR_INFO_TYPE_URL).tag(2, WireType.LengthDelimited).bytes(info.finish()).finish();
  const status = new BinaryWriter().tag(1, WireType.Varint).int32(code).tag(2, WireType.LengthDelimited).string(message);
  return status.tag(3, WireType.LengthDelimited).bytes(any).finish();
}

function decodeError(method: string, why: string): ServerError {
  return new ReasonedServerError(Status.INVALID_ARGUMENT, `request to ${method.split("/").pop()} could not be decoded: ${why}`, "MALFORMED_REQUEST");
}

const KIND_TO_STATUS: Record<DomainErrorKind, Status> = {
  "invalid-argument": Status.INVALID_ARGUMENT,
  "not-found": Status.NOT_FOUND,
  "already-exists": Status.ALREADY_EXISTS,
  "failed-precondition": Status.FAILED_PRECONDITION,
  "permission-denied": Status.PERMISSION_DENIED,
  unauthenticated: Status.UNAUTHENTICATED,
  "resource-exhausted": Status.RESOURCE_EXHAUSTED,
  "out-of-range": Status.OUT_OF_RANGE,
  aborted: Status.ABORTED,
  unavailable: Status.UNAVAILABLE,
  internal: Status.INTERNAL,
};

/** A lone UTF-16 surrogate (a text cut inside a pair, or decoded from hostile input). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** `s` with every lone surrogate replaced by U+FFFD: grpc-js encodeURI()s the status message and throws (killing the process) on one. */
export function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(/[\uD800-\uDFFF]/gu, "\uFFFD") : s;
}

/** The same error with a well-formed message and metadata (it is itself when it already is). */
function withWellFormedText(e: ServerError): ServerError {
  const metadata = e instanceof ReasonedServerError ? e.metadata : {};
  if (!LONE_SURROGATE.test(e.details) && !Object.values(metadata).some((v) => LONE_SURROGATE.test(v))) return e;
  const clean = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, wellFormed(v)]));
  return new ReasonedServerError(e.code, wellFormed(e.details), reasonOf(e), clean);
}

/** Maps an error thrown by a handler to the ServerError the client sees (its texts well-formed UTF-16). */
export function toServerError(e: unknown, log: Logger, method: string): unknown {
  if (e instanceof ServerError) return withWellFormedText(e);
  if (isDomainError(e)) {
    const metadata: Record<string, string> = {};
    if (e.patchId !== undefined) metadata.patchId = e.patchId;
    if (e.hostname !== undefined) metadata.hostname = e.hostname;
    return withWellFormedText(new ReasonedServerError(KIND_TO_STATUS[e.kind], e.message, e.reason, metadata));
  }
  if (isAbortError(e)) return e;
  const ref = randomUUID().slice(0, 8);
  log.error("unexpected error", { method, ref, error: (e as Error)?.stack ?? String(e) });
  return new ReasonedServerError(Status.INTERNAL, `internal error (ref ${ref})`, INTERNAL_ERROR_REASON);
}

/**
 * The reason sent with a ServerError: its own when it has one, else the status name
 * (`INVALID_ARGUMENT`, like a DomainError without an explicit reason), `INTERNAL_ERROR` for
 * INTERNAL/UNKNOWN.
 */
export function reasonOf(e: ServerError): string {
  if (e instanceof ReasonedServerError) return e.reason;
  if (e.code === Status.INTERNAL || e.code === Status.UNKNOWN) return INTERNAL_ERROR_REASON;
  return Status[e.code] ?? INTERNAL_ERROR_REASON;
}

/**
 * Error and logging middleware: domain errors become their status, anything unexpected becomes
 * INTERNAL "internal error (ref X)" with the stack logged under that ref, never sent. Every error
 * status carries the trailers {@link ERROR_REASON_TRAILER}, {@link ERROR_DOMAIN_TRAILER} and
 * {@link STATUS_DETAILS_TRAILER}.
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
        const reason = reasonOf(mapped);
        context.trailer.set(ERROR_REASON_TRAILER, reason);
        context.trailer.set(ERROR_DOMAIN_TRAILER, ERROR_DOMAIN);
        const metadata = mapped instanceof ReasonedServerError ? mapped.metadata : {};
        context.trailer.set(STATUS_DETAILS_TRAILER, encodeStatusDetails(mapped.code, mapped.details, reason, metadata));
        log.info("rpc", { method, status: Status[mapped.code], reason, ms: Date.now() - started });
      }
      throw mapped;
    }
  };
}
