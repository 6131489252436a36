import { ClientError, Status } from "nice-grpc";

/** Trailer in which the controller sends the machine-readable reason of every error status. */
export const ERROR_REASON_TRAILER = "swpatch-error-reason";
/** Trailer naming the reason's domain; the controller's is {@link ERROR_DOMAIN}. */
export const ERROR_DOMAIN_TRAILER = "swpatch-error-domain";
/** The domain of the controller's reasons. */
export const ERROR_DOMAIN = "swpatch.v1";

/** Context attached to every {@link SwPatchError}. */
export interface SwPatchErrorOptions {
  /** gRPC status code of the failed call. */
  code: Status;
  /** Full method path, e.g. `/swpatch.v1.PatchService/ApplyPatches`. */
  method?: string;
  /** The original error (usually a nice-grpc `ClientError`). */
  cause?: unknown;
  /** Controller endpoint the call was made to. */
  endpoint?: string;
  /**
   * Machine-readable reason the controller sent (trailer `swpatch-error-reason`), e.g.
   * `PATCH_NOT_FOUND`, `RELEASE_NOT_FOUND`, `TOKEN_MISSING`; undefined from a controller that
   * sends none, or for an error that never reached one (UNAVAILABLE on connect).
   */
  reason?: string;
}

/**
 * Base class of every error the SDK throws for a failed call. `message` is the controller's
 * text (the reference's wording, e.g. "Patch 001 does not exist"); `code` is the gRPC status;
 * `cause` keeps the original `ClientError`.
 */
export class SwPatchError extends Error {
  readonly code: Status;
  readonly method: string | undefined;
  readonly endpoint: string | undefined;
  /** Machine-readable reason from the controller (see {@link SwPatchErrorOptions.reason}). */
  readonly reason: string | undefined;
  override readonly cause: unknown;

  constructor(message: string, options: SwPatchErrorOptions) {
    super(message);
    this.name = new.target.name;
    this.code = options.code;
    this.method = options.method;
    this.endpoint = options.endpoint;
    this.reason = options.reason;
    this.cause = options.cause;
  }

  /** Status name, e.g. `NOT_FOUND`. */
  get codeName(): string {
    return Status[this.code] ?? String(this.code);
  }
}

/** NOT_FOUND: an unknown patch, host, operation, token... */
export class NotFoundError extends SwPatchError {}
/** NOT_FOUND, reason PATCH_NOT_FOUND: an unknown patch ID. */
export class PatchNotFoundError extends NotFoundError {}
/** NOT_FOUND, reason RELEASE_NOT_FOUND: an unknown release (e.g. DelRelease). */
export class ReleaseNotFoundError extends NotFoundError {}
/** NOT_FOUND, reason HOST_NOT_FOUND: an unknown host. */
export class HostNotFoundError extends NotFoundError {}
/** NOT_FOUND, reason OPERATION_NOT_FOUND: an unknown host-install operation ID. */
export class OperationNotFoundError extends NotFoundError {}
/** NOT_FOUND, reason STRATEGY_NOT_FOUND: there is no patch strategy. */
export class StrategyNotFoundError extends NotFoundError {}
/** FAILED_PRECONDITION: the system is not in a state that allows the operation. */
export class PreconditionError extends SwPatchError {}
/** INVALID_ARGUMENT: the request itself is wrong (bad patch file, bad field). */
export class InvalidArgumentError extends SwPatchError {}
/** ALREADY_EXISTS. */
export class AlreadyExistsError extends SwPatchError {}
/** PERMISSION_DENIED: the token's role may not perform the call. */
export class PermissionDeniedError extends SwPatchError {}
/** UNAUTHENTICATED: missing or unknown token. */
export class UnauthenticatedError extends SwPatchError {}
/** UNAVAILABLE: the controller cannot be reached (or asked the client to retry). */
export class UnavailableError extends SwPatchError {}
/** DEADLINE_EXCEEDED: the call's deadline passed before the controller answered. */
export class DeadlineExceededError extends SwPatchError {}
/** INTERNAL (or UNKNOWN): the controller failed unexpectedly; the message holds its log reference. */
export class InternalError extends SwPatchError {}

/** RESOURCE_EXHAUSTED: a limit of the controller was reached (the message names it and its flag). */
export class ResourceExhaustedError extends SwPatchError {}
/** RESOURCE_EXHAUSTED, reason WATCH_STREAM_LIMIT: too many watch streams open (per caller or in total). */
export class WatchStreamLimitError extends ResourceExhaustedError {}
/**
 * RESOURCE_EXHAUSTED, reason WATCH_FELL_BEHIND: the client read a watch stream too slowly and the
 * controller ended it. The SDK's watch helpers resume by themselves (from the last sequence, or
 * with the current state); you see it only from a raw client.
 */
export class WatchFellBehindError extends ResourceExhaustedError {}
/** OUT_OF_RANGE. */
export class OutOfRangeError extends SwPatchError {}
/**
 * OUT_OF_RANGE, reason EVENTS_PRUNED: the event history asked for is older than the controller's
 * `--event-retention`. `oldestSequence` is the oldest event still held: watch again from
 * `oldestSequence - 1` (accepting the gap), or re-read current state.
 */
export class EventsPrunedError extends OutOfRangeError {
  /** The oldest sequence number the controller still holds (NaN if the message did not say). */
  readonly oldestSequence: number;
  constructor(message: string, options: SwPatchErrorOptions) {
    super(message, options);
    this.oldestSequence = Number(/oldest event held is (\d+)/.exec(message)?.[1] ?? NaN);
  }
}

type ErrorClass = new (message: string, options: SwPatchErrorOptions) => SwPatchError;

/** Classes chosen by a reason that comes with a status other than NOT_FOUND. */
const BY_REASON_AND_STATUS: ReadonlyMap<string, [Status, ErrorClass]> = new Map<string, [Status, ErrorClass]>([
  ["WATCH_STREAM_LIMIT", [Status.RESOURCE_EXHAUSTED, WatchStreamLimitError]],
  ["WATCH_FELL_BEHIND", [Status.RESOURCE_EXHAUSTED, WatchFellBehindError]],
  ["EVENTS_PRUNED", [Status.OUT_OF_RANGE, EventsPrunedError]],
]);

/** Classes chosen by the controller's reason; a reason not listed falls back to the status. */
const BY_REASON: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ["PATCH_NOT_FOUND", PatchNotFoundError],
  ["RELEASE_NOT_FOUND", ReleaseNotFoundError],
  ["HOST_NOT_FOUND", HostNotFoundError],
  ["OPERATION_NOT_FOUND", OperationNotFoundError],
  ["STRATEGY_NOT_FOUND", StrategyNotFoundError],
]);

const BY_STATUS: Partial<Record<Status, ErrorClass>> = {
  [Status.NOT_FOUND]: NotFoundError,
  [Status.FAILED_PRECONDITION]: PreconditionError,
  [Status.INVALID_ARGUMENT]: InvalidArgumentError,
  [Status.ALREADY_EXISTS]: AlreadyExistsError,
  [Status.PERMISSION_DENIED]: PermissionDeniedError,
  [Status.UNAUTHENTICATED]: UnauthenticatedError,
  [Status.UNAVAILABLE]: UnavailableError,
  [Status.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [Status.INTERNAL]: InternalError,
  [Status.UNKNOWN]: InternalError,
  [Status.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [Status.OUT_OF_RANGE]: OutOfRangeError,
};

/**
 * Converts a nice-grpc `ClientError` into the matching typed {@link SwPatchError}: by the
 * controller's `reason` first (PATCH_NOT_FOUND -> PatchNotFoundError, RELEASE_NOT_FOUND ->
 * ReleaseNotFoundError, HOST_NOT_FOUND, OPERATION_NOT_FOUND, STRATEGY_NOT_FOUND; WATCH_STREAM_LIMIT,
 * WATCH_FELL_BEHIND, EVENTS_PRUNED), then by status.
 * Without a reason (a controller older than the reason trailer) a NOT_FOUND from PatchService is
 * still taken as PatchNotFoundError. Anything else (AbortError, file-system errors from an upload
 * source, an already converted error) is returned unchanged.
 */
export function toSwPatchError(error: unknown, endpoint?: string, reason?: string): unknown {
  if (!(error instanceof ClientError)) return error;
  const options: SwPatchErrorOptions = { code: error.code, method: error.path, cause: error, endpoint, reason };
  const message = error.details || Status[error.code] || "error";
  const byReason = reason === undefined ? undefined : BY_REASON.get(reason);
  if (byReason && error.code === Status.NOT_FOUND) return new byReason(message, options);
  const other = reason === undefined ? undefined : BY_REASON_AND_STATUS.get(reason);
  if (other && other[0] === error.code) return new other[1](message, options);
  if (reason === undefined && error.code === Status.NOT_FOUND && error.path.startsWith("/swpatch.v1.PatchService/")) {
    return new PatchNotFoundError(message, options);
  }
  const Ctor = BY_STATUS[error.code] ?? SwPatchError;
  return new Ctor(message, options);
}

/** The reason in a call's trailers (nice-grpc `Metadata`), when the controller sent one. */
export function reasonFromTrailer(trailer: { get(key: string): string | Uint8Array | undefined } | undefined): string | undefined {
  const v = trailer?.get(ERROR_REASON_TRAILER);
  if (v === undefined || v === "") return undefined;
  return typeof v === "string" ? v : new TextDecoder().decode(v);
}

/** True for errors worth retrying a stream on: the controller went away or the transport broke. */
export function isTransientError(error: unknown): boolean {
  const code = error instanceof SwPatchError ? error.code : error instanceof ClientError ? error.code : undefined;
  if (code === undefined) return false;
  if (code === Status.UNAVAILABLE) return true;
  // grpc-js reports a connection torn down mid-stream as INTERNAL/UNKNOWN with an RST_STREAM text.
  const details = error instanceof SwPatchError ? error.message : (error as ClientError).details;
  return (
    (code === Status.INTERNAL || code === Status.UNKNOWN || code === Status.CANCELLED) &&
    /RST_STREAM|Connection dropped|socket|ECONNRESET|Received HTTP status|Server shutting down/i.test(details)
  );
}

/** True when a watch stream was ended because its client read too slowly (the helpers resume it). */
export function isFellBehindError(error: unknown): boolean {
  if (error instanceof WatchFellBehindError) return true;
  return error instanceof ClientError && error.code === Status.RESOURCE_EXHAUSTED && /watch stream fell behind/.test(error.details);
}
