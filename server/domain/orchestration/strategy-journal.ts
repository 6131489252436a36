import { DEFAULT_WATCH_BUFFER, watchFellBehind, type NewEvent } from "../events/event-log.js";
import type { Logger } from "../../lib/log.js";
import { cloneStrategy, refreshComputed, type Strategy } from "./model.js";
import type { StrategyPersistence } from "./persistence.js";

/**
 * Saves strategy snapshots and shares them with watchers.
 *
 * INVARIANTS: snapshots are saved in call order (one chain); watchers are notified after the save,
 * in the same order, all with the same deep-frozen snapshot (one copy per save, not per watcher);
 * a watcher holds at most `maxBuffered` snapshots and is ended (RESOURCE_EXHAUSTED) beyond that;
 * a failed save is logged and does not stop the chain (the caller of `save` still sees the failure).
 */
export class StrategyJournal {
  private saveChain: Promise<void> = Promise.resolve();
  private readonly watchers = new Set<(s: Strategy | undefined) => void>();

  constructor(
    private readonly persistence: StrategyPersistence,
    private readonly log?: Logger,
    private readonly maxBuffered: number = DEFAULT_WATCH_BUFFER,
  ) {}

  /** Saves `s` (refreshing its computed fields first; undefined = deleted) with its events, then notifies watchers. */
  save(s: Strategy | undefined, events: NewEvent[]): Promise<void> {
    if (s) refreshComputed(s);
    const copy = s ? cloneStrategy(s) : undefined;
    const p = this.saveChain.then(async () => {
      await this.persistence.save(copy, events);
      const shared = copy ? deepFreeze(copy) : undefined;
      for (const w of this.watchers) w(shared);
    });
    this.saveChain = p.catch((e: unknown) => this.log?.error("strategy save failed", { error: (e as Error)?.message }));
    return p;
  }

  /** Resolves when every save asked for so far has finished. */
  settled(): Promise<void> {
    return this.saveChain;
  }

  /**
   * `current()`, then the (shared, frozen) snapshot of every save, until `signal` aborts. Throws
   * RESOURCE_EXHAUSTED (WATCH_FELL_BEHIND) once more than `maxBuffered` snapshots wait for a
   * consumer that does not take them; they are dropped at once.
   */
  async *watch(current: () => Strategy | undefined, signal: AbortSignal): AsyncGenerator<Strategy | undefined> {
    let queue: (Strategy | undefined)[] = [];
    let behind = false;
    let wake: (() => void) | undefined;
    const listener = (s: Strategy | undefined) => {
      queue.push(s);
      if (queue.length > this.maxBuffered) {
        behind = true;
        queue = [];
        this.watchers.delete(listener);
      }
      wake?.();
    };
    const onAbort = () => wake?.();
    this.watchers.add(listener);
    signal.addEventListener("abort", onAbort);
    try {
      yield current();
      while (!signal.aborted) {
        if (behind) throw watchFellBehind(this.maxBuffered, "strategy snapshots");
        while (queue.length > 0 && !signal.aborted && !behind) yield queue.shift();
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (queue.length > 0 || signal.aborted || behind) resolve();
        });
        wake = undefined;
      }
    } finally {
      this.watchers.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** Freezes `v` and everything it holds (a snapshot shared by every watcher must not change). */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
