/**
 * The audit log: one row per mutating call (and per failed attempt at one), written after the call
 * completes. Append-only from the product's point of view.
 */

/** One audit row as stored and listed. */
export interface AuditEntry {
  /** Increasing; `list({afterId})` pages by it. */
  id: number;
  /** ISO-8601. */
  time: string;
  /** Token id, "local" (authentication disabled) or "anonymous" (no valid token). */
  actor: string;
  /** The caller's role, or "" when unauthenticated. */
  role: string;
  /** Method name, e.g. "ApplyPatches". */
  action: string;
  /** What was acted on, best effort from the request, at most 256 characters. */
  target: string;
  /** "ok" or the gRPC status name ("PERMISSION_DENIED"). */
  outcome: string;
  /** Error message or extra facts, at most 512 characters. */
  detail: string;
}

/** What the domain needs from storage (implemented by server/storage/auth-store.ts). */
export interface AuditStore {
  /** Appends one entry; its id is given by the store (increasing), visible through listAudit. */
  appendAudit(entry: Omit<AuditEntry, "id">): Promise<void>;
  /** Entries with id > afterId, ascending, at most `limit`. */
  listAudit(afterId: number, limit: number): Promise<AuditEntry[]>;
}

/** Fields a recorder gives; `time` defaults to now, `target`/`detail` to "". */
export interface AuditRecord {
  actor: string;
  role: string;
  action: string;
  outcome: string;
  target?: string;
  detail?: string;
  time?: Date;
}

export const MAX_AUDIT_TARGET = 256;
export const MAX_AUDIT_DETAIL = 512;
export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;

/** Cuts `s` to `max` characters, marking the cut with "…". */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + "…";
}

/** Writes and pages audit entries. */
export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Appends one entry (durable when this resolves). Long targets and details are truncated. */
  record(r: AuditRecord): Promise<void> {
    return this.store.appendAudit({
      time: (r.time ?? this.now()).toISOString(),
      actor: r.actor,
      role: r.role,
      action: r.action,
      target: truncate(r.target ?? "", MAX_AUDIT_TARGET),
      outcome: r.outcome,
      detail: truncate(r.detail ?? "", MAX_AUDIT_DETAIL),
    });
  }

  /** Entries after `afterId` (default 0), ascending; `limit` defaults to 100 and is capped at 1000. */
  list(opts: { afterId?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = !opts.limit || opts.limit <= 0 ? DEFAULT_AUDIT_LIMIT : Math.min(opts.limit, MAX_AUDIT_LIMIT);
    return this.store.listAudit(Math.max(0, opts.afterId ?? 0), limit);
  }
}
