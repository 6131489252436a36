/**
 * The audit log: one row per mutating call (and per failed attempt at one), written after the call
 * completes. Append-only from the product's point of view, but bounded: refusals (calls refused
 * before they ran: UNAUTHENTICATED, PERMISSION_DENIED) are rate-limited per source, and rows older
 * than the retention are pruned.
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
  /** Deletes up to `max` of the oldest entries whose time is before `before` (ISO-8601); how many went. */
  pruneAudit(before: string, max: number): Promise<number>;
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
  /**
   * Where the call came from (peer address). Refusals are rate-limited per source: the address for
   * an unauthenticated caller, the address and token for an authenticated one (default: actor).
   */
  source?: string;
  /**
   * A call refused before it ran (rate-limited). Default: outcome UNAUTHENTICATED or
   * PERMISSION_DENIED. A call that ran passes false: its row is never dropped.
   */
  refusal?: boolean;
}

/** How many refusal rows one source may write per window, and the window. */
export interface AuditRefusalLimit {
  perWindow: number;
  windowMs: number;
  /** Sources tracked at once; beyond it, new sources share one bucket ("*"). */
  maxSources: number;
}

export const DEFAULT_REFUSAL_LIMIT: AuditRefusalLimit = { perWindow: 20, windowMs: 60_000, maxSources: 10_000 };
/** Rows one prune call deletes per store call. */
const PRUNE_BATCH = 10_000;

export const MAX_AUDIT_TARGET = 256;
export const MAX_AUDIT_DETAIL = 512;
export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;

/** Cuts `s` to `max` characters, marking the cut with "…". */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + "…";
}

interface Window {
  start: number;
  written: number;
  dropped: number;
  /** The last dropped refusal (what the summary row names). */
  last?: AuditRecord;
}

/**
 * Writes and pages audit entries.
 * INVARIANTS: per source and window, at most `perWindow` refusal rows are written; the refusals
 * dropped beyond it are counted and written as one summary row ("N similar refusals from S
 * dropped") once the window has ended (at the source's next refusal, or at `flushWindows`, which
 * the controller calls on a timer); a row with `refusal: false` is never dropped.
 */
export class AuditLog {
  private readonly windows = new Map<string, Window>();
  private readonly limit: AuditRefusalLimit;
  /** Called after each row is durable (the checkpointer counts rows with it). */
  private appended: (() => void) | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly now: () => Date = () => new Date(),
    limit: Partial<AuditRefusalLimit> = {},
  ) {
    this.limit = { ...DEFAULT_REFUSAL_LIMIT, ...limit };
  }

  /**
   * Appends one entry (durable when this resolves) unless it is a refusal over its source's
   * limit (then it is counted). Long targets and details are truncated.
   */
  async record(r: AuditRecord): Promise<void> {
    const refusal = r.refusal ?? (r.outcome === "UNAUTHENTICATED" || r.outcome === "PERMISSION_DENIED");
    if (!refusal) return this.append(r);
    // The window bookkeeping is synchronous (no await between reading and updating it).
    const now = (r.time ?? this.now()).getTime();
    // An unauthenticated caller picks its actor (any token id), so its source is its address alone;
    // an authenticated one (role known) is counted per address and token.
    let key = r.source ? (r.role ? `${r.source} ${r.actor}` : r.source) : r.actor;
    if (!this.windows.has(key) && this.windows.size >= this.limit.maxSources) key = "*";
    let w = this.windows.get(key);
    let ended: AuditRecord | undefined;
    if (w && now - w.start >= this.limit.windowMs) {
      ended = this.summaryOf(key, w);
      w = undefined;
    }
    if (!w) this.windows.set(key, (w = { start: now, written: 0, dropped: 0 }));
    const drop = w.written >= this.limit.perWindow;
    if (drop) {
      w.dropped++;
      w.last = r;
    } else w.written++;
    if (ended) await this.append(ended);
    if (!drop) await this.append(r);
  }

  /** Writes the summary rows of every window that has ended, or of all (shutdown), and forgets those windows. */
  async flushWindows(all = false): Promise<void> {
    const now = this.now().getTime();
    const rows: AuditRecord[] = [];
    for (const [key, w] of [...this.windows]) {
      if (!all && now - w.start < this.limit.windowMs) continue;
      const row = this.summaryOf(key, w);
      if (row) rows.push(row);
    }
    for (const row of rows) await this.append(row);
  }

  /** Refusal sources tracked now. */
  get trackedSources(): number {
    return this.windows.size;
  }

  /** Forgets an ended window; the summary row of what it dropped, if anything. */
  private summaryOf(key: string, w: Window): AuditRecord | undefined {
    this.windows.delete(key);
    if (!w.dropped || !w.last) return undefined;
    const from = key === "*" ? "other sources" : key;
    return {
      actor: w.last.actor,
      role: w.last.role,
      action: w.last.action,
      target: key,
      outcome: w.last.outcome,
      detail: `${w.dropped.toLocaleString("en-US")} similar refusals from ${from} dropped (at most ${this.limit.perWindow} per source per ${this.limit.windowMs / 1000} s)`,
      time: new Date(Math.min(w.start + this.limit.windowMs, this.now().getTime())),
    };
  }

  /**
   * Deletes the entries older than `retentionMs` (in batches, so that no transaction is long);
   * returns how many went.
   */
  async prune(retentionMs: number): Promise<number> {
    const before = new Date(this.now().getTime() - retentionMs).toISOString();
    let total = 0;
    for (;;) {
      const n = await this.store.pruneAudit(before, PRUNE_BATCH);
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }

  /** Calls `fn` after every row this log appends is durable (one listener; the audit checkpointer). */
  onAppended(fn: () => void): void {
    this.appended = fn;
  }

  private async append(r: AuditRecord): Promise<void> {
    await this.store.appendAudit({
      time: (r.time ?? this.now()).toISOString(),
      actor: r.actor,
      role: r.role,
      action: r.action,
      target: truncate(r.target ?? "", MAX_AUDIT_TARGET),
      outcome: r.outcome,
      detail: truncate(r.detail ?? "", MAX_AUDIT_DETAIL),
    });
    this.appended?.();
  }

  /** Entries after `afterId` (default 0), ascending; `limit` defaults to 100 and is capped at 1000. */
  list(opts: { afterId?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = !opts.limit || opts.limit <= 0 ? DEFAULT_AUDIT_LIMIT : Math.min(opts.limit, MAX_AUDIT_LIMIT);
    return this.store.listAudit(Math.max(0, opts.afterId ?? 0), limit);
  }
}
