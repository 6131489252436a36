import { DomainError } from "../errors.js";
import type { InstallProgress } from "../hosts/agent-types.js";
import type { EventRetentionPort, StoreReader, StoreTx } from "../store.js";

/** One entry of the event log (see proto Event). */
export interface DomainEvent {
  seq: number;
  time: Date;
  kind: string;
  patchId: string;
  hostname: string;
  oldState: string;
  newState: string;
  message: string;
  operationId: string;
  /** The progress message, for install.progress events. */
  progress?: InstallProgress;
}

export type NewEvent = Partial<Omit<DomainEvent, "seq" | "time">> & { kind: string };

export interface EventFilter {
  kinds?: readonly string[];
  patchId?: string;
  hostname?: string;
  operationId?: string;
}

function matches(e: DomainEvent, f: EventFilter): boolean {
  if (f.kinds && f.kinds.length && !f.kinds.includes(e.kind)) return false;
  if (f.patchId && e.patchId !== f.patchId) return false;
  if (f.hostname && e.hostname !== f.hostname) return false;
  if (f.operationId && e.operationId !== f.operationId) return false;
  return true;
}

/** Matching events a watcher may have waiting (published, not yet taken by its stream) by default. */
export const DEFAULT_WATCH_BUFFER = 1024;
/** Reason of the RESOURCE_EXHAUSTED that ends a watch whose client does not keep up. */
export const WATCH_FELL_BEHIND_REASON = "WATCH_FELL_BEHIND";
/** Reason of the OUT_OF_RANGE answering a watch that asks for history no longer held. */
export const EVENTS_PRUNED_REASON = "EVENTS_PRUNED";

/** The error that ends a watch whose client fell more than `limit` messages behind. */
export function watchFellBehind(limit: number, what = "events"): DomainError {
  return new DomainError(
    "resource-exhausted",
    `watch stream fell behind: more than ${limit} ${what} were waiting to be sent (--watch-buffer); watch again from the last one received`,
    { reason: WATCH_FELL_BEHIND_REASON },
  );
}

/** OUT_OF_RANGE: the history a watcher asked for was pruned (`--event-retention`). */
export class EventsPrunedError extends DomainError {
  /** The oldest sequence number still held: watch again after `oldestSequence - 1` (or later). */
  readonly oldestSequence: number;
  constructor(afterSeq: number, oldestSequence: number) {
    super(
      "out-of-range",
      `events after sequence ${afterSeq} are no longer held (--event-retention): the oldest event held is ${oldestSequence}; watch from after_sequence ${oldestSequence - 1} or later`,
      { reason: EVENTS_PRUNED_REASON },
    );
    this.oldestSequence = oldestSequence;
  }
}

/** How much history the log keeps; the newest event is always kept (it carries the sequence on). */
export interface RetentionRule {
  /** Keep at most this many events. */
  maxCount?: number;
  /** Keep no event older than this, milliseconds. */
  maxAgeMs?: number;
}

/** The log's retention: the rule, the store port that deletes, and how often it runs. */
export interface EventRetention {
  store: EventRetentionPort;
  rule: RetentionRule;
  /** Between two prunes, ms (default 60 s). */
  intervalMs?: number;
  /** Called with a failed prune's error (the next one tries again). */
  onError?: (e: unknown) => void;
}

export interface EventLogOptions {
  /** Matching events one watcher may have waiting before it is ended as fallen behind (default {@link DEFAULT_WATCH_BUFFER}). */
  maxBuffered?: number;
  retention?: EventRetention;
}

/** Rows deleted per prune transaction (keeps each write short for the writers waiting behind it). */
const PRUNE_BATCH = 5000;

/**
 * The event log: events are appended inside the transaction of the change they describe and
 * published to live watchers after that transaction commits.
 * INVARIANTS: published events arrive in sequence order; a watcher sees history (from the store)
 * then live events with no gap and no repeat, deduplicated by sequence number.
 */
export class EventLog {
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private lastSeq = 0;
  private readonly maxBuffered: number;
  private readonly retention: EventRetention | undefined;
  /** The oldest sequence number still held (0: nothing was ever pruned; see {@link prune}). */
  private firstHeld = 0;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<number> | undefined;
  private retentionClosed = false;

  constructor(
    private readonly reader: Pick<StoreReader, "lastEventSeq" | "eventsAfter">,
    opts: EventLogOptions = {},
  ) {
    this.maxBuffered = opts.maxBuffered ?? DEFAULT_WATCH_BUFFER;
    this.retention = opts.retention;
  }

  /** Reads the sequence from the store (start-up; a pair member on each takeover), dropping what memory held before. */
  async init(): Promise<void> {
    this.dropMemory();
    this.lastSeq = await this.reader.lastEventSeq();
    if (this.retention) this.firstHeld = await this.retention.store.firstEventSeq();
    this.nextSeq = this.lastSeq;
    this.tailTop = this.lastSeq;
    this.deliveredTop = this.lastSeq;
  }

  /** A pair member lost its term: stops the retention timer, waits for a prune under way, drops the tail (see init). */
  async deactivate(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    await this.pruning?.catch(() => undefined);
    this.dropMemory();
  }

  private dropMemory(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.held.clear();
    this.early.clear();
    this.tail = [];
  }

  /** The last sequence number given to an appended event (committed or not yet). */
  private nextSeq = 0;

  get lastSequence(): number {
    return this.lastSeq;
  }

  /** The oldest sequence number still held (0 or 1 while nothing was pruned). */
  get oldestSequence(): number {
    return this.firstHeld;
  }

  /**
   * Deletes the events the retention rule no longer keeps, oldest first in short transactions;
   * never the newest. Watchers asking for older history are refused (OUT_OF_RANGE) from the
   * moment the cut is chosen, before the rows go. One prune at a time; resolves with how many.
   */
  prune(): Promise<number> {
    if (!this.retention) return Promise.resolve(0);
    this.pruning ??= this.pruneNow().finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async pruneNow(): Promise<number> {
    const { store, rule } = this.retention!;
    const top = this.lastSeq;
    if (top === 0) return 0;
    let cut = 0; // every event below `cut` goes
    if (rule.maxCount !== undefined) cut = Math.max(cut, top - rule.maxCount + 1);
    if (rule.maxAgeMs !== undefined) {
      const since = await store.firstEventSeqSince(new Date(Date.now() - rule.maxAgeMs));
      cut = Math.max(cut, since === 0 ? top : since);
    }
    cut = Math.min(cut, top);
    if (cut <= Math.max(this.firstHeld, 1)) return 0;
    this.firstHeld = cut;
    let deleted = 0;
    for (;;) {
      const n = await store.deleteEventsBefore(cut, PRUNE_BATCH);
      deleted += n;
      if (n < PRUNE_BATCH) return deleted;
    }
  }

  /** Prunes now and then every `intervalMs` (and as the count rule is exceeded by 10 %) until {@link close}. */
  startRetention(): void {
    if (!this.retention || this.pruneTimer || this.retentionClosed) return;
    const run = () => void this.prune().catch((e: unknown) => this.retention!.onError?.(e));
    run();
    this.pruneTimer = setInterval(run, this.retention.intervalMs ?? 60_000);
    this.pruneTimer.unref();
  }

  /** Stops the retention timer and waits for a prune under way. */
  async close(): Promise<void> {
    this.retentionClosed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    await this.pruning?.catch(() => undefined);
  }

  /** OUT_OF_RANGE when history after `afterSeq` was pruned. */
  private checkHeld(afterSeq: number): void {
    if (afterSeq + 1 < this.firstHeld && afterSeq < this.lastSeq) throw new EventsPrunedError(afterSeq, this.firstHeld);
  }

  /**
   * Appends an event inside `tx` (a queued write: no call into sqlite of its own); call `publish`
   * with the result after the commit. Sequence numbers are given here, in the order bodies run on
   * the writer; a body rolled back gives its numbers back, so committed numbers have no gaps.
   */
  async append(tx: StoreTx, e: NewEvent): Promise<DomainEvent> {
    const time = new Date();
    const seq = ++this.nextSeq;
    tx.onRollback(() => {
      if (this.nextSeq >= seq) this.nextSeq = seq - 1;
    });
    const ev: DomainEvent = {
      seq,
      time,
      kind: e.kind,
      patchId: e.patchId ?? "",
      hostname: e.hostname ?? "",
      oldState: e.oldState ?? "",
      newState: e.newState ?? "",
      message: e.message ?? "",
      operationId: e.operationId ?? "",
      ...(e.progress === undefined ? {} : { progress: e.progress }),
    };
    tx.appendEvent(ev);
    return ev;
  }

  /**
   * Delivers committed events to live watchers, in sequence order: the callers of one group
   * commit publish in whatever order their continuations run, so an event whose predecessor is
   * not published yet waits for it (microseconds). A watcher that saw every number before an
   * event never needs the store. If a predecessor never comes (a rolled-back number is reused by
   * a later event, so only a bug could cause it), waiting events go after HOLD_MS anyway and
   * watchers fill the gap from the store.
   */
  publish(events: readonly DomainEvent[]): void {
    for (const e of events) {
      if (e.seq > this.deliveredTop) this.held.set(e.seq, e);
      // Later than events released after a hold: delivered anyway, so watchers' watermarks catch up.
      else this.deliver(e);
    }
    for (let e = this.held.get(this.deliveredTop + 1); e; e = this.held.get(this.deliveredTop + 1)) {
      this.held.delete(e.seq);
      this.deliveredTop = e.seq;
      this.deliver(e);
    }
    if (this.held.size === 0 && this.holdTimer) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    }
    if (this.held.size && !this.holdTimer) {
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        const rest = [...this.held.values()].sort((a, b) => a.seq - b.seq);
        this.held.clear();
        for (const e of rest) {
          if (e.seq > this.deliveredTop) this.deliveredTop = e.seq;
          this.deliver(e);
        }
      }, EventLog.HOLD_MS);
      this.holdTimer.unref();
    }
  }

  static readonly HOLD_MS = 250;
  private readonly held = new Map<number, DomainEvent>();
  private deliveredTop = 0;
  private holdTimer: NodeJS.Timeout | undefined;

  private deliver(e: DomainEvent): void {
    if (e.seq > this.lastSeq) this.lastSeq = e.seq;
    // A count rule is kept within 10 % between the timer's prunes.
    const max = this.retention?.rule.maxCount;
    if (max !== undefined && !this.pruning && !this.retentionClosed && this.lastSeq - Math.max(this.firstHeld, 1) + 1 > max + Math.ceil(max / 10)) {
      void this.prune().catch((err: unknown) => this.retention!.onError?.(err));
    }
    this.keep(e);
    for (const l of this.listeners) l(e);
  }

  /**
   * The newest published events, in memory, contiguous by sequence number up to `tailTop`: a
   * watcher starting from a recent sequence (most do: WatchEvents from the head, WatchOperation
   * of a new install) reads its history here instead of from the store.
   */
  private tail: DomainEvent[] = [];
  private tailTop = 0;
  private readonly early = new Map<number, DomainEvent>();
  static readonly TAIL_MAX = 4096;

  private keep(e: DomainEvent): void {
    if (e.seq <= this.tailTop) return;
    if (e.seq !== this.tailTop + 1) {
      // Published ahead of an earlier one (its commit's publisher runs later): wait for the gap.
      this.early.set(e.seq, e);
      if (this.early.size > 1024) {
        // Something committed is never published (should not happen): restart the tail.
        this.tail = [];
        this.tailTop = Math.max(...this.early.keys());
        this.early.clear();
      }
      return;
    }
    this.tail.push(e);
    this.tailTop = e.seq;
    for (let next = this.early.get(this.tailTop + 1); next; next = this.early.get(this.tailTop + 1)) {
      this.early.delete(next.seq);
      this.tail.push(next);
      this.tailTop = next.seq;
    }
    if (this.tail.length > EventLog.TAIL_MAX * 1.25) this.tail = this.tail.slice(this.tail.length - EventLog.TAIL_MAX);
  }

  /** Published events after `afterSeq` from the tail, or undefined when it does not reach back that far. */
  private fromTail(afterSeq: number): DomainEvent[] | undefined {
    // Events published ahead of a gap are in neither the tail nor a new watcher's future: the
    // store has them.
    if (this.early.size > 0 || this.lastSeq !== this.tailTop) return undefined;
    if (afterSeq === this.tailTop) return [];
    const first = this.tail[0];
    if (!first || afterSeq < first.seq - 1 || afterSeq > this.tailTop) return undefined;
    return this.tail.slice(afterSeq - first.seq + 1);
  }

  /**
   * History after `afterSeq`, then live events, until `signal` aborts. Throws EventsPrunedError
   * (OUT_OF_RANGE) when that history is no longer held, and {@link watchFellBehind}
   * (RESOURCE_EXHAUSTED) once more than `maxBuffered` matching events wait for a consumer that
   * does not take them (its buffer is dropped at once, not when the consumer comes back).
   */
  async *watch(afterSeq: number, filter: EventFilter, signal: AbortSignal): AsyncGenerator<DomainEvent> {
    this.checkHeld(afterSeq);
    // Only matching events are buffered and wake the consumer (many filtered watchers, e.g.
    // one per install, cost little); every published sequence number is still tracked, so a
    // matching event is yielded at once only when all before it were seen.
    // Matching events not yet yielded, kept in sequence order (an event may be delivered before
    // a lower one only after a hold timeout); `head` is the next to yield.
    const buffer: DomainEvent[] = [];
    let head = 0;
    const enqueue = (e: DomainEvent) => {
      let i = buffer.length;
      while (i > head && buffer[i - 1]!.seq > e.seq) i--;
      if (i === buffer.length) buffer.push(e);
      else buffer.splice(i, 0, e);
    };
    let wake: (() => void) | undefined;
    let watermark = this.lastSeq; // every seq <= watermark has been published
    const ahead = new Set<number>();
    const listener = (e: DomainEvent) => {
      if (e.seq === watermark + 1) {
        watermark++;
        while (ahead.delete(watermark + 1)) watermark++;
      } else if (e.seq > watermark) ahead.add(e.seq);
      if (matches(e, filter)) {
        enqueue(e);
        if (buffer.length - head > this.maxBuffered) {
          // The consumer does not keep up: drop what waits, stop listening, end the watch.
          behind = true;
          buffer.length = 0;
          head = 0;
          this.listeners.delete(listener);
        }
        wake?.();
      }
    };
    let behind = false;
    const fellBehind = () => watchFellBehind(this.maxBuffered);
    this.listeners.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    // With an operation/patch/host filter the store answers from an index, not a scan.
    const indexed = filter.operationId || filter.patchId || filter.hostname;
    const narrow = {
      ...(filter.operationId ? { operationId: filter.operationId } : {}),
      ...(filter.patchId ? { patchId: filter.patchId } : {}),
      ...(filter.hostname ? { hostname: filter.hostname } : {}),
    };
    const read = (after: number, limit: number) => {
      this.checkHeld(after);
      return this.reader.eventsAfter(after, limit, indexed ? narrow : undefined);
    };
    try {
      let cursor = afterSeq;
      // History from the in-memory tail when it reaches back to `afterSeq`; else from the store
      // in pages. Live events that arrive meanwhile wait in `buffer`.
      const recent = this.fromTail(afterSeq);
      if (recent) {
        for (const e of recent) {
          cursor = e.seq;
          if (matches(e, filter)) yield e;
          if (signal.aborted) return;
          if (behind) throw fellBehind();
        }
      }
      for (; !recent;) {
        if (signal.aborted) return;
        const rows = await read(cursor, 1000);
        for (const e of rows) {
          cursor = e.seq;
          if (matches(e, filter)) yield e;
          if (signal.aborted) return;
          if (behind) throw fellBehind();
        }
        if (rows.length < 1000) break;
      }
      while (!signal.aborted) {
        if (behind) throw fellBehind();
        while (head < buffer.length) {
          const e = buffer[head++]!;
          if (head >= 1024) {
            buffer.splice(0, head);
            head = 0;
          }
          if (e.seq <= cursor) continue;
          if (e.seq - 1 > watermark && !signal.aborted) {
            // An earlier event committed but is not published yet: take the gap from the store.
            for (const h of await read(cursor, e.seq - cursor - 1)) {
              if (h.seq >= e.seq) break;
              cursor = h.seq;
              if (matches(h, filter)) yield h;
            }
          }
          cursor = e.seq;
          yield e;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (head < buffer.length || signal.aborted || behind) resolve();
        });
        wake = undefined;
      }
    } finally {
      this.listeners.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
