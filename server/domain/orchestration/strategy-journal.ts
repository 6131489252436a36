import type { NewEvent } from "../events/event-log.js";
import type { Logger } from "../../lib/log.js";
import { cloneStrategy, refreshComputed, type Strategy } from "./model.js";
import type { StrategyPersistence } from "./persistence.js";

/**
 * Saves strategy snapshots and shares them with watchers.
 *
 * INVARIANTS: snapshots are saved in call order (one chain); watchers are notified after the save,
 * in the same order, each with its own deep copy; a failed save is logged and does not stop the
 * chain (the caller of `save` still sees the failure).
 */
export class StrategyJournal {
  private saveChain: Promise<void> = Promise.resolve();
  private readonly watchers = new Set<(s: Strategy | undefined) => void>();

  constructor(
    private readonly persistence: StrategyPersistence,
    private readonly log?: Logger,
  ) {}

  /** Saves `s` (refreshing its computed fields first; undefined = deleted) with its events, then notifies watchers. */
  save(s: Strategy | undefined, events: NewEvent[]): Promise<void> {
    if (s) refreshComputed(s);
    const copy = s ? cloneStrategy(s) : undefined;
    const p = this.saveChain.then(async () => {
      await this.persistence.save(copy, events);
      for (const w of this.watchers) w(copy ? cloneStrategy(copy) : undefined);
    });
    this.saveChain = p.catch((e: unknown) => this.log?.error("strategy save failed", { error: (e as Error)?.message }));
    return p;
  }

  /** Resolves when every save asked for so far has finished. */
  settled(): Promise<void> {
    return this.saveChain;
  }

  /** `current()`, then a snapshot after every save, until `signal` aborts (at most 1000 queued). */
  async *watch(current: () => Strategy | undefined, signal: AbortSignal): AsyncGenerator<Strategy | undefined> {
    const queue: (Strategy | undefined)[] = [];
    let wake: (() => void) | undefined;
    const listener = (s: Strategy | undefined) => {
      queue.push(s);
      if (queue.length > 1000) queue.shift();
      wake?.();
    };
    const onAbort = () => wake?.();
    this.watchers.add(listener);
    signal.addEventListener("abort", onAbort);
    try {
      yield current();
      while (!signal.aborted) {
        while (queue.length > 0 && !signal.aborted) yield queue.shift();
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (queue.length > 0 || signal.aborted) resolve();
        });
        wake = undefined;
      }
    } finally {
      this.watchers.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
