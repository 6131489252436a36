import type { InstallProgress } from "../hosts/agent-types.js";
import type { StoreReader, StoreTx } from "../store.js";

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

/**
 * The event log: events are appended inside the transaction of the change they describe and
 * published to live watchers after that transaction commits.
 * INVARIANTS: published events arrive in sequence order; a watcher sees history (from the store)
 * then live events with no gap and no repeat, deduplicated by sequence number.
 */
export class EventLog {
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private lastSeq = 0;

  constructor(private readonly reader: Pick<StoreReader, "lastEventSeq" | "eventsAfter">) {}

  async init(): Promise<void> {
    this.lastSeq = await this.reader.lastEventSeq();
    this.nextSeq = this.lastSeq;
    this.tailTop = this.lastSeq;
    this.deliveredTop = this.lastSeq;
  }

  /** The last sequence number given to an appended event (committed or not yet). */
  private nextSeq = 0;

  get lastSequence(): number {
    return this.lastSeq;
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

  /** History after `afterSeq`, then live events, until `signal` aborts. */
  async *watch(afterSeq: number, filter: EventFilter, signal: AbortSignal): AsyncGenerator<DomainEvent> {
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
        wake?.();
      }
    };
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
    const read = (after: number, limit: number) => this.reader.eventsAfter(after, limit, indexed ? narrow : undefined);
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
        }
      }
      for (; !recent;) {
        const rows = await read(cursor, 1000);
        for (const e of rows) {
          cursor = e.seq;
          if (matches(e, filter)) yield e;
          if (signal.aborted) return;
        }
        if (rows.length < 1000) break;
      }
      while (!signal.aborted) {
        while (head < buffer.length) {
          const e = buffer[head++]!;
          if (head >= 1024) {
            buffer.splice(0, head);
            head = 0;
          }
          if (e.seq <= cursor) continue;
          if (e.seq - 1 > watermark) {
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
          if (head < buffer.length || signal.aborted) resolve();
        });
        wake = undefined;
      }
    } finally {
      this.listeners.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
