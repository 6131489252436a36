import type { StoreTx, WriteGroup } from "../../domain/store.js";

interface Batch {
  readonly items: unknown[];
  readonly callers: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[];
}

/**
 * Store.batch over a store's `transact`: the open batch of each group, and one transaction body
 * per batch. See Store.batch for the semantics.
 * INVARIANTS: a group has at most one open batch (in `open`); a batch leaves `open` when its body
 * starts, when it is full, or when it settles, and never receives an item after that; every
 * caller of a batch is settled exactly once, all with the same outcome.
 */
export class WriteBatches {
  private readonly open = new Map<WriteGroup<unknown, unknown>, Batch>();

  constructor(private readonly transact: <T>(body: (tx: StoreTx) => Promise<T>) => Promise<T>) {}

  /** Store.batch. */
  add<I, R>(group: WriteGroup<I, R>, item: I): Promise<R> {
    const g = group as WriteGroup<unknown, unknown>;
    return new Promise<R>((resolve, reject) => {
      let b = this.open.get(g);
      const opened = !b;
      if (!b) {
        b = { items: [], callers: [] };
        this.open.set(g, b);
      }
      b.items.push(item);
      b.callers.push({ resolve: resolve as (v: unknown) => void, reject });
      if (b.items.length >= group.maxItems) this.close(g, b);
      // Started after its first item is in: the body may run at once (an idle writer).
      if (opened) this.start(g, b);
    });
  }

  private close(g: WriteGroup<unknown, unknown>, b: Batch): void {
    if (this.open.get(g) === b) this.open.delete(g);
  }

  private start(g: WriteGroup<unknown, unknown>, b: Batch): void {
    const commit = () =>
      this.transact((tx) => {
        this.close(g, b);
        return g.finalize(tx, b.items.slice());
      });
    let entered: Promise<unknown>;
    try {
      entered = g.enter ? g.enter(commit) : commit();
    } catch (e) {
      entered = Promise.reject(e);
    }
    entered.then(
      (v) => {
        this.close(g, b);
        for (const c of b.callers) c.resolve(v);
      },
      (e: unknown) => {
        this.close(g, b);
        for (const c of b.callers) c.reject(e);
      },
    );
  }
}
