/**
 * Domain errors. The domain never imports gRPC: it throws a DomainError with a `kind`, and the
 * transport's error middleware maps the kind to a gRPC status (see server/transport/errors.ts).
 * Messages use the reference's words where the reference has them.
 */
export type DomainErrorKind =
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "failed-precondition"
  | "permission-denied"
  | "unauthenticated"
  | "resource-exhausted"
  | "out-of-range"
  | "aborted"
  | "unavailable"
  | "internal";

/** Base class of every error the domain raises on purpose. */
export class DomainError extends Error {
  readonly kind: DomainErrorKind;
  /** Machine-readable reason, stable across releases (e.g. "PATCH_NOT_FOUND"). */
  readonly reason: string;
  readonly patchId?: string;
  readonly hostname?: string;

  constructor(kind: DomainErrorKind, message: string, opts: { reason?: string; patchId?: string; hostname?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "DomainError";
    this.kind = kind;
    this.reason = opts.reason ?? kind.toUpperCase().replace(/-/g, "_");
    if (opts.patchId !== undefined) this.patchId = opts.patchId;
    if (opts.hostname !== undefined) this.hostname = opts.hostname;
  }
}

export const invalidArgument = (message: string, opts?: ConstructorParameters<typeof DomainError>[2]) => new DomainError("invalid-argument", message, opts);
export const notFound = (message: string, opts?: ConstructorParameters<typeof DomainError>[2]) => new DomainError("not-found", message, opts);
export const alreadyExists = (message: string, opts?: ConstructorParameters<typeof DomainError>[2]) => new DomainError("already-exists", message, opts);
export const failedPrecondition = (message: string, opts?: ConstructorParameters<typeof DomainError>[2]) => new DomainError("failed-precondition", message, opts);

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
