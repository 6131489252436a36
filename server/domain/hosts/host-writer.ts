import type { NewEvent } from "../events/event-log.js";
import type { PatchManager } from "../patches/patch-manager.js";
import type { HostViews } from "../patches/patch-state.js";
import type { UnitOfWork, Work, WorkGroup } from "../unit-of-work.js";
import type { OperationEnd } from "./install-operations.js";
import type { HostRecord } from "./model.js";

/** Host writes taken together into one transaction at most. */
const HOST_BATCH_MAX = 256;

interface HostWrite {
  next: HostRecord | undefined;
  hostname: string;
  ev: NewEvent | undefined;
  end: OperationEnd | undefined;
}

/**
 * The committed host records and their writes. A write is one unit of work (under its lock)
 * with the patch states it changes; the store coalesces writes given close together into one
 * (UnitOfWork.group: one transaction, one recomputation of the patch states for those hosts).
 * INVARIANTS: `hosts` holds committed records only, adopted after their commit and only if newer
 * (in write order) than the record held; `latest` adds records written but not adopted yet, for
 * building the next record of a host.
 */
export class HostWriter {
  readonly hosts = new Map<string, HostRecord>();
  /** Records riding a later commit (agent-state-only reports), not adopted yet. */
  private readonly unadopted = new Map<string, HostRecord>();
  private readonly gen = new WeakMap<HostRecord, number>();
  private readonly adoptedGen = new Map<string, number>();
  private nextGen = 0;
  private readonly writes: WorkGroup<HostWrite>;

  constructor(private readonly o: { uow: UnitOfWork; patches: PatchManager; views: (records: ReadonlyMap<string, HostRecord>) => HostViews }) {
    this.writes = o.uow.group<HostWrite>({ maxItems: HOST_BATCH_MAX, body: (w, batch) => this.writeBatch(w, batch) });
  }

  /**
   * Replaces the committed records with `records` (start-up; a pair member on each takeover). They count as newer
   * than any write of an earlier term whose adoption could still come.
   */
  load(records: readonly HostRecord[]): void {
    this.clear();
    for (const h of records) {
      this.hosts.set(h.hostname, h);
      this.adoptedGen.set(h.hostname, this.stamp(h));
    }
  }

  /** Forgets every record (a pair member that lost its term). */
  clear(): void {
    this.hosts.clear();
    this.unadopted.clear();
    this.adoptedGen.clear();
    this.nextGen++;
  }

  /** The newest record of a host, committed or on its way. */
  latest(hostname: string): HostRecord | undefined {
    return this.unadopted.get(hostname) ?? this.hosts.get(hostname);
  }

  /**
   * A record that changes no patch state (the agent's state only): it rides the next commit of
   * the store (or commits after 25 ms) and is adopted after it.
   */
  async later(next: HostRecord, ev: NewEvent): Promise<void> {
    const hostname = next.hostname;
    this.unadopted.set(hostname, next);
    const gen = this.stamp(next);
    try {
      await this.o.uow.later(async (w) => {
        await w.tx.hosts.upsertHost(next);
        await w.event(ev);
        w.afterCommit(() => this.adopt(hostname, next, gen));
      }, 25);
    } finally {
      if (this.unadopted.get(hostname) === next) this.unadopted.delete(hostname);
    }
  }

  /**
   * Writes a host record (with its event and the patch states it changes) and, with `end`, the
   * end of its install operation in the same transaction. Resolves once committed and adopted; a
   * batch that fails rejects each of its callers (releasing their ends) and leaves memory as it was.
   */
  write(next: HostRecord, ev?: NewEvent, end?: OperationEnd): Promise<void> {
    this.stamp(next);
    return this.writes.add({ next, hostname: next.hostname, ev, end });
  }

  /** Deletes a host (the caller holds the unit of work's lock). */
  dropLocked(hostname: string): Promise<void> {
    return this.o.uow.commit((w) => this.writeBatch(w, [{ next: undefined, hostname, ev: { kind: "host.dropped" }, end: undefined }]));
  }

  private stamp(rec: HostRecord): number {
    const g = ++this.nextGen;
    this.gen.set(rec, g);
    return g;
  }

  /** After a commit: the host's record (undefined: dropped), unless memory holds a newer one. */
  private adopt(hostname: string, rec: HostRecord | undefined, gen: number): void {
    const g = (rec && this.gen.get(rec)) ?? gen;
    if (g <= (this.adoptedGen.get(hostname) ?? 0)) return;
    this.adoptedGen.set(hostname, g);
    if (rec) this.hosts.set(hostname, rec);
    else this.hosts.delete(hostname);
    const pending = this.unadopted.get(hostname);
    if (pending && (this.gen.get(pending) ?? 0) <= g) this.unadopted.delete(hostname);
  }

  /** The unit of work of one batch (the lock held): the records, their events, the patch states, the ends; adopted after the commit. */
  private async writeBatch(uw: Work, batch: readonly HostWrite[]): Promise<void> {
    // An end's claim is released if this batch is rolled back (latest first, as the hooks run).
    for (const { end } of batch) if (end) uw.tx.onRollback(() => end.release());
    const overlay = new Map(this.hosts);
    for (const w of batch) {
      if (w.next) overlay.set(w.hostname, w.next);
      else overlay.delete(w.hostname);
    }
    const names = [...new Set(batch.map((w) => w.hostname))];
    const gen = ++this.nextGen;
    for (const w of batch) {
      if (w.next) await uw.tx.hosts.upsertHost(w.next);
      else await uw.tx.hosts.deleteHost(w.hostname);
      if (w.ev) await uw.event({ ...w.ev, hostname: w.hostname });
    }
    await this.o.patches.onHostReports(uw, this.o.views(overlay), names);
    for (const w of batch) if (w.end) await w.end.write(uw);
    uw.afterCommit(() => {
      for (const n of names) this.adopt(n, overlay.get(n), gen);
    });
  }
}
