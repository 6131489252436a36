/**
 * Store contract: event retention (EventRetentionPort) and the EventLog pruning over it: the
 * oldest events go, durably, the newest always stays, and a watcher asking for pruned history
 * is refused with the oldest sequence still held.
 */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import { event } from "./fixtures.js";
import { EventLog, EventsPrunedError, type DomainEvent } from "../../server/domain/events/event-log.js";
import type { EventRetentionPort, Store } from "../../server/domain/store.js";

function retention(store: Store): EventRetentionPort {
  const r = store as Store & Partial<EventRetentionPort>;
  if (!r.deleteEventsBefore || !r.firstEventSeq || !r.firstEventSeqSince) throw new Error("store does not implement EventRetentionPort");
  return r as Store & EventRetentionPort;
}

async function drain(it: AsyncGenerator<DomainEvent>, n: number): Promise<number[]> {
  const out: number[] = [];
  for await (const e of it) {
    out.push(e.seq);
    if (out.length === n) break;
  }
  return out;
}

for (const f of factories) {
  describe(`store contract (${f.name}): event retention`, () => {
    const { s, reopen } = storePerTest(f);

    it("firstEventSeq, firstEventSeqSince and deleteEventsBefore (oldest first, at most `limit`, durable)", async () => {
      const port = () => retention(s().store);
      expect(await port().firstEventSeq()).to.equal(0);
      expect(await port().firstEventSeqSince(new Date(0))).to.equal(0);
      await s().store.transact(async (tx) => {
        for (let i = 1; i <= 10; i++) tx.appendEvent(event(i));
      });
      expect(await port().firstEventSeq()).to.equal(1);
      // event(i) is stamped i ms after a fixed instant.
      expect(await port().firstEventSeqSince(event(4).time)).to.equal(4);
      expect(await port().firstEventSeqSince(new Date(event(10).time.getTime() + 1))).to.equal(0);
      expect(await port().deleteEventsBefore(8, 3)).to.equal(3);
      expect(await port().firstEventSeq()).to.equal(4);
      expect(await port().deleteEventsBefore(8, 100)).to.equal(4);
      expect(await port().deleteEventsBefore(8, 100)).to.equal(0);
      const again = await reopen();
      expect((await again.store.read.eventsAfter(0, 100)).map((e) => e.seq)).to.deep.equal([8, 9, 10]);
      expect(await retention(again.store).firstEventSeq()).to.equal(8);
      expect(await again.store.read.lastEventSeq()).to.equal(10);
    });

    it("EventLog.prune keeps the newest `maxCount`; a watch from before them is OUT_OF_RANGE naming the oldest held; later ones read on", async () => {
      await s().store.transact(async (tx) => {
        for (let i = 1; i <= 12; i++) tx.appendEvent(event(i));
      });
      const log = new EventLog(s().store.read, { retention: { store: retention(s().store), rule: { maxCount: 5 } } });
      await log.init();
      expect(await log.prune()).to.equal(7);
      expect(log.oldestSequence).to.equal(8);
      const ac = new AbortController();
      let refused: unknown;
      try {
        await drain(log.watch(3, {}, ac.signal), 1);
      } catch (e) {
        refused = e;
      }
      expect(refused).to.be.instanceOf(EventsPrunedError);
      expect((refused as EventsPrunedError).oldestSequence).to.equal(8);
      expect((refused as EventsPrunedError).kind).to.equal("out-of-range");
      expect((refused as Error).message).to.contain("the oldest event held is 8");
      expect(await drain(log.watch(7, {}, ac.signal), 5)).to.deep.equal([8, 9, 10, 11, 12]);
      expect(await log.prune()).to.equal(0);
      const again = await reopen();
      const log2 = new EventLog(again.store.read, { retention: { store: retention(again.store), rule: { maxCount: 5 } } });
      await log2.init();
      expect(log2.oldestSequence).to.equal(8);
      expect(log2.lastSequence).to.equal(12);
    });

    it("EventLog.prune by age drops older events but always keeps the newest one", async () => {
      const old = new Date(Date.now() - 3_600_000);
      await s().store.transact(async (tx) => {
        for (let i = 1; i <= 4; i++) tx.appendEvent(event(i, { time: old }));
      });
      const log = new EventLog(s().store.read, { retention: { store: retention(s().store), rule: { maxAgeMs: 60_000 } } });
      await log.init();
      expect(await log.prune()).to.equal(3);
      expect((await s().store.read.eventsAfter(0, 10)).map((e) => e.seq)).to.deep.equal([4]);
      expect(await s().store.read.lastEventSeq()).to.equal(4);
    });
  });
}
