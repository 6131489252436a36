/**
 * The leadership lease as the domain sees it: one row shared by the controllers of a pair, naming the holder,
 * the epoch of its term and when the lease expires. The row lives in the shared store (PostgreSQL:
 * server/storage/postgres/lease.ts) and every expiry is decided by the STORE's clock, never by a controller's:
 * the domain only ever measures durations on its own monotonic clock (see Leadership).
 */

/** Who asks for the lease: the controller's id and the address peers and clients should use to reach it. */
export interface LeaseCandidate {
  /** `controller-0` or `controller-1`. */
  readonly controllerId: string;
  /** `HOST:PORT` other controllers and clients use to reach this one (the gRPC endpoint). */
  readonly address: string;
}

/** The lease row as last read. */
export interface LeaseState {
  /** The term: raised by one on every acquisition; 0 when nobody ever held the lease. */
  readonly epoch: number;
  /** The holder's controller id; "" when nobody ever held the lease. */
  readonly holder: string;
  /** The holder's advertised address ("" when unknown). */
  readonly address: string;
  /** When the lease expires, by the store's clock (information only: never compare it with a local clock). */
  readonly expiresAt: Date;
  /** Whether the lease was still valid when read (by the store's clock). */
  readonly valid: boolean;
}

/** Result of a renewal: `ok` (still ours, expiry pushed out) or `lost` (another term began, or it was released). */
export type RenewResult = "ok" | "lost";

/**
 * The store side of leadership. Each call is one atomic statement on the store; implementations must decide
 * expiry by the store's clock.
 */
export interface LeasePort {
  /**
   * Takes the lease when it is free (expired or released) or already held by `candidate.controllerId` (a
   * restart of the same controller), starting a new term (epoch + 1) either way. Returns the row after the
   * attempt: the caller holds the lease iff `holder === candidate.controllerId` and the epoch is new.
   */
  tryAcquire(candidate: LeaseCandidate, ttlMs: number): Promise<LeaseState>;
  /** Pushes the expiry to now + ttlMs if `controllerId` still holds `epoch`; `lost` otherwise. */
  renew(controllerId: string, epoch: number, ttlMs: number): Promise<RenewResult>;
  /** Ends the term at once (expiry set to now) if `controllerId` still holds `epoch`; a no-op otherwise. */
  release(controllerId: string, epoch: number): Promise<void>;
  /** The row as it is now. */
  current(): Promise<LeaseState>;
}
