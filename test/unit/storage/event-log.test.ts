import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Db } from "../../../server/storage/sqlite/db.js";
import { SqliteStore } from "../../../server/storage/sqlite/store.js";
import type { StoreReader } from "../../../server/domain/store.js";
import { EventLog, type DomainEvent } from "../../../server/domain/events/event-log.js";
import { migrations } from "../../../server/storage/sqlite/migrations/index.js";

/** The event log on a real sqlite file: history from the in-memory tail or the store, no gap, no repeat. */
describe("EventLog (history tail and store)", () => {
  let dir: string;
  let db: Db;
  let storeReads = 0;
  let log: EventLog;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-events-"));
    db = await Db.open(path.join(dir, "t.sqlite"), migrations);
    storeReads = 0;
    const r = new SqliteStore(db).read;
    const counting: Pick<StoreReader, "lastEventSeq" | "eventsAfter"> = {
      lastEventSeq: () => (storeReads++, r.lastEventSeq()),
      eventsAfter: (after, limit, filter) => (storeReads++, r.eventsAfter(after, limit, filter)),
    };
    log = new EventLog(counting);
    await log.init();
    storeReads = 0;
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const commit = (kinds: string[]) => new SqliteStore(db).transact(async (tx) => Promise.all(kinds.map((kind) => log.append(tx, { kind, hostname: kind }))));

  async function take(afterSeq: number, n: number, filter = {}): Promise<DomainEvent[]> {
    const ac = new AbortController();
    const out: DomainEvent[] = [];
    for await (const e of log.watch(afterSeq, filter, ac.signal)) {
      out.push(e);
      if (out.length === n) break;
    }
    ac.abort();
    return out;
  }

  it("a watcher from a recent sequence reads history from memory, then live events, in order", async () => {
    log.publish(await commit(["e1", "e2", "e3", "e4"]));
    const pending = take(2, 4);
    // History 3, 4 without a store read; 5 and 6 arrive live.
    await new Promise((r) => setImmediate(r));
    log.publish(await commit(["e5", "e6"]));
    const got = await pending;
    expect(got.map((e) => `${e.seq}:${e.kind}`)).to.deep.equal(["3:e3", "4:e4", "5:e5", "6:e6"]);
    expect(storeReads).to.equal(0);
  });

  it("events published out of order are delivered in order; a new watcher needs no store read", async () => {
    log.publish(await commit(["a"]));
    const early = take(1, 2); // a watcher already live
    await new Promise((r) => setImmediate(r));
    const late = await commit(["b"]); // seq 2, committed, its publisher runs later
    const ahead = await commit(["c"]); // seq 3
    log.publish(ahead);
    expect(log.lastSequence).to.equal(1); // 3 waits for 2
    const pending = take(1, 2); // a new watcher meanwhile
    await new Promise((r) => setTimeout(r, 20));
    log.publish(late);
    expect((await early).map((e) => e.seq)).to.deep.equal([2, 3]);
    expect((await pending).map((e) => e.seq)).to.deep.equal([2, 3]);
    expect(storeReads).to.equal(0);
    expect((await take(0, 3)).map((e) => e.seq)).to.deep.equal([1, 2, 3]);
    expect(storeReads).to.equal(0);
  });

  it("an event whose predecessor is never published goes after a while; watchers fill the gap from the store", async () => {
    log.publish(await commit(["a"]));
    const live = take(1, 3);
    await new Promise((r) => setImmediate(r));
    const late = await commit(["late"]); // seq 2: committed, its publisher far too slow
    log.publish(await commit(["c"])); // seq 3
    log.publish(await commit(["d"])); // seq 4
    expect(log.lastSequence).to.equal(1); // 3 and 4 are held for 2
    expect((await live).map((e) => `${e.seq}:${e.kind}`)).to.deep.equal(["2:late", "3:c", "4:d"]);
    expect(storeReads).to.be.greaterThan(0);
    // The late one still goes out (a watcher already past it skips it); then new watchers read
    // everything from the tail again.
    log.publish(late);
    log.publish(await commit(["e"]));
    storeReads = 0;
    expect((await take(0, 5)).map((e) => `${e.seq}:${e.kind}`)).to.deep.equal(["1:a", "2:late", "3:c", "4:d", "5:e"]);
    expect(storeReads).to.equal(0);
  });

  it("a watcher from before the tail reads the store in pages and then goes on live", async () => {
    const total = EventLog.TAIL_MAX * 2;
    for (let i = 0; i < total; i += 500) log.publish(await commit(Array.from({ length: 500 }, (_, k) => `k${i + k}`)));
    const got = await take(0, total, {});
    expect(got.length).to.equal(total);
    got.forEach((e, i) => expect(e.seq).to.equal(i + 1));
    expect(storeReads).to.be.greaterThan(0);
    // Filtered by host: one event, from the store.
    const one = await take(0, 1, { hostname: "k17" });
    expect(one.map((e) => e.seq)).to.deep.equal([18]);
  });
});
