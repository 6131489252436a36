import { ClientError, Status } from "nice-grpc";

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
  override readonly cause: unknown;

  constructor(message: string, options: SwPatchErrorOptions) {
    super(message);
    this.name = new.target.name;
    this.code = options.code;
    this.method = options.method;
    this.endpoint = options.endpoint;
    this.cause = options.cause;
  }

  /** Status name, e.g. `NOT_FOUND`. */
  get codeName(): string {
    return Status[this.code] ?? String(this.code);
  }
}

/** NOT_FOUND: an unknown patch, host, operation, token... */
export class NotFoundError extends SwPatchError {}
/** NOT_FOUND raised by a PatchService call (an unknown patch ID). */
export class PatchNotFoundError extends NotFoundError {}
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

type ErrorClass = new (message: string, options: SwPatchErrorOptions) => SwPatchError;

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
};

/**
 * Converts a nice-grpc `ClientError` into the matching typed {@link SwPatchError}. Anything else
 * (AbortError, file-system errors from an upload source, an already converted error) is returned
 * unchanged.
 */
export function toSwPatchError(error: unknown, endpoint?: string): unknown {
  if (!(error instanceof ClientError)) return error;
  const options: SwPatchErrorOptions = { code: error.code, method: error.path, cause: error, endpoint };
  if (error.code === Status.NOT_FOUND && error.path.startsWith("/swpatch.v1.PatchService/")) {
    return new PatchNotFoundError(error.details, options);
  }
  const Ctor = BY_STATUS[error.code] ?? SwPatchError;
  return new Ctor(error.details || Status[error.code] || "error", options);
}

/** True for errors worth retrying a stream on: the controller went away or the transport broke. */
export function isTransientError(error: unknown): boolean {
  const code =
    error instanceof SwPatchError ? error.code : error instanceof ClientError ? error.code : undefined;
  if (code === undefined) return false;
  if (code === Status.UNAVAILABLE) return true;
  // grpc-js reports a connection torn down mid-stream as INTERNAL/UNKNOWN with an RST_STREAM text.
  const details = error instanceof SwPatchError ? error.message : (error as ClientError).details;
  return (
    (code === Status.INTERNAL || code === Status.UNKNOWN || code === Status.CANCELLED) &&
    /RST_STREAM|Connection dropped|socket|ECONNRESET|Received HTTP status|Server shutting down/i.test(details)
  );
}
