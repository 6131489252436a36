import type { DomainEvent, EventLog, NewEvent } from "./events/event-log.js";
import type { Store, StoreTx, WriteGroup } from "./store.js";

/** What a unit-of-work body gets: the transaction, an event appender and the after-commit hook. */
export interface Work {
  readonly tx: StoreTx;
  /** Appends an event inside the transaction; it is published after the commit. */
  event(e: NewEvent): Promise<DomainEvent>;
  /** Adopts computed state into memory: runs after the commit, in registration order, before the events are published. */
  afterCommit(fn: () => void): void;
}

/** Coalesced units of work (see `UnitOfWork.group`). */
export interface WorkGroup<I> {
  /** Writes one item: resolves once its batch committed and was adopted; rejects if it failed. */
  add(item: I): Promise<void>;
}

/** The after-commit step of one run of a body: its value, and what adopting it does. */
interface Done<T> {
  value: T;
  adopt(): void;
}

/**
 * The one unit of work of the controller's cluster state (patches, interim lists, patch states,
 * hosts): THE lock, and the "compute inside the transaction, adopt after commit" step.
 *
 * INVARIANTS: a body that computes from in-memory cluster state runs under `exclusive` (checked:
 * `commit` refuses it otherwise), so no other such body can run between its computation and its
 * adoption; memory changes only in `afterCommit` hooks, which run only if the transaction
 * committed, and before any event of it is published. A body that fails or whose commit fails
 * leaves memory untouched: there is nothing to restore.
 */
export class UnitOfWork {
  private tail: Promise<unknown> = Promise.resolve();
  private depth = 0;

  constructor(private readonly o: { store: Store; events: EventLog }) {}

  /** Runs `fn` holding the lock (FIFO); the lock is not re-entrant. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.depth++;
      try {
        return await fn();
      } finally {
        this.depth--;
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Whether a body holds the lock (for assertions). */
  get held(): boolean {
    return this.depth > 0;
  }

  /**
   * One transaction: `body` writes and computes, registering what memory adopts; after the commit
   * the hooks run and the events are published. Must be called holding the lock.
   */
  commit<T>(body: (w: Work) => Promise<T>): Promise<T> {
    if (!this.held) return Promise.reject(new Error("UnitOfWork.commit outside exclusive()"));
    return this.write(body);
  }

  /**
   * A transaction that reads no cluster state (operations, alarms, controller state): no lock
   * needed. Hooks and events as for `commit`.
   */
  write<T>(body: (w: Work) => Promise<T>): Promise<T> {
    return this.run(body, (inTx) => this.o.store.transact(inTx));
  }

  /**
   * Writes that need no commit of their own (progress events, agent-state-only host rows): they
   * ride the next transaction of the store, or commit alone after `maxDelayMs`. Resolves after
   * that commit (hooks run, events published); rejects if it failed.
   */
  later<T>(body: (w: Work) => Promise<T>, maxDelayMs: number): Promise<T> {
    return this.run(body, (inTx) => this.o.store.later(inTx, maxDelayMs));
  }

  /**
   * Coalesced units of work that compute from cluster state (host reports): each item goes to the
   * store (Store.batch), which writes the items given close together as ONE unit of work,
   * `body(w, items)`, committed holding the lock, as `commit` does. After the commit the batch's
   * hooks run and its events are published, then each caller resolves; a batch that fails rejects
   * each of its callers and leaves memory untouched. Not for a caller holding the lock (it waits
   * for the lock): that one calls `commit` with a batch of its own.
   */
  group<I>(spec: { maxItems: number; body: (w: Work, items: readonly I[]) => Promise<void> }): WorkGroup<I> {
    const group: WriteGroup<I, Done<void>> = {
      maxItems: spec.maxItems,
      enter: (commit) =>
        this.exclusive(async () => {
          const done = await commit();
          done.adopt();
          return done;
        }),
      finalize: (tx, items) => this.inTx(tx, (w) => spec.body(w, items)),
    };
    return { add: async (item) => void (await this.o.store.batch(group, item)) };
  }

  /** Runs `body` through `submit` (a transaction or a ride on the next one); after the commit, hooks then events. */
  private async run<T>(body: (w: Work) => Promise<T>, submit: (inTx: (tx: StoreTx) => Promise<Done<T>>) => Promise<Done<T>>): Promise<T> {
    const done = await submit((tx) => this.inTx(tx, body));
    done.adopt();
    return done.value;
  }

  /** One run of `body` in `tx`; only what this run registered is adopted (after its commit). */
  private async inTx<T>(tx: StoreTx, body: (w: Work) => Promise<T>): Promise<Done<T>> {
    const hooks: (() => void)[] = [];
    const events: DomainEvent[] = [];
    const value = await body({
      tx,
      event: async (e) => {
        const ev = await this.o.events.append(tx, e);
        events.push(ev);
        return ev;
      },
      afterCommit: (fn) => void hooks.push(fn),
    });
    return {
      value,
      adopt: () => {
        for (const fn of hooks) fn();
        this.o.events.publish(events);
      },
    };
  }
}
