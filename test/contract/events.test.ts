/**
 * Store contract: the event log's rows (sequence numbers given by the caller, read back in
 * order, filtered by an index) and the domain's EventLog over the store.
 */
import { expect } from "chai";
import { factories, itContract, storePerTest } from "./store-factory.js";
import { event, gate, progress } from "./fixtures.js";
import { EventLog, type DomainEvent, type EventFilter } from "../../server/domain/events/event-log.js";

for (const f of factories) {
  describe(`store contract (${f.name}): events`, () => {
    const { s, reopen } = storePerTest(f);

    it("events are stored with the sequence numbers given and read back in sequence order, every field intact", async () => {
      const withProgress = event(2, { kind: "install.progress", operationId: "op1", hostname: "h1", progress: progress("op1", "h1") });
      const full = event(1, {
        kind: "patch.state",
        patchId: "P1",
        hostname: "h2",
        oldState: "Available",
        newState: "Partial-Apply",
        message: "it's ‘quoted’\nand multi-line",
      });
      expect(await s().store.read.lastEventSeq()).to.equal(0);
      await s().store.transact(async (tx) => {
        tx.appendEvent(event(3));
        tx.appendEvent(full);
        tx.appendEvent(withProgress);
      });
      await s().store.transact(async (tx) => tx.appendEvent(event(10)));
      const got = await s().store.read.eventsAfter(0, 100);
      expect(got).to.deep.equal([full, withProgress, event(3), event(10)]);
      expect(got[1]!.time).to.be.instanceOf(Date);
      expect(got[1]!.progress!.time).to.be.instanceOf(Date);
      expect(await s().store.read.lastEventSeq()).to.equal(10);
      const again = await reopen();
      expect(await again.store.read.eventsAfter(0, 100)).to.deep.equal([full, withProgress, event(3), event(10)]);
      expect(await again.store.read.lastEventSeq()).to.equal(10);
    });

    it("eventsAfter: after a sequence number, at most `limit`, narrowed by operation, patch, host (and several at once)", async () => {
      const all: DomainEvent[] = [];
      for (let i = 1; i <= 30; i++) all.push(event(i, { operationId: `op${i % 3}`, patchId: `P${i % 2}`, hostname: `h${i % 5}` }));
      await s().store.transact(async (tx) => all.forEach((e) => tx.appendEvent(e)));
      const r = s().store.read;
      const seqs = (l: DomainEvent[]) => l.map((e) => e.seq);
      expect(seqs(await r.eventsAfter(0, 1000))).to.deep.equal(seqs(all));
      expect(seqs(await r.eventsAfter(10, 5))).to.deep.equal([11, 12, 13, 14, 15]);
      expect(seqs(await r.eventsAfter(28, 5))).to.deep.equal([29, 30]);
      expect(await r.eventsAfter(30, 5)).to.deep.equal([]);
      expect(await r.eventsAfter(0, 0)).to.deep.equal([]);
      const want = (p: (e: DomainEvent) => boolean, after = 0, limit = 1000) => seqs(all.filter((e) => e.seq > after && p(e))).slice(0, limit);
      expect(seqs(await r.eventsAfter(0, 1000, { operationId: "op1" }))).to.deep.equal(want((e) => e.operationId === "op1"));
      expect(seqs(await r.eventsAfter(4, 3, { operationId: "op1" }))).to.deep.equal(want((e) => e.operationId === "op1", 4, 3));
      expect(seqs(await r.eventsAfter(0, 1000, { patchId: "P0" }))).to.deep.equal(want((e) => e.patchId === "P0"));
      expect(seqs(await r.eventsAfter(0, 1000, { hostname: "h4" }))).to.deep.equal(want((e) => e.hostname === "h4"));
      expect(seqs(await r.eventsAfter(0, 1000, { operationId: "op2", hostname: "h1" }))).to.deep.equal(want((e) => e.operationId === "op2" && e.hostname === "h1"));
      expect(seqs(await r.eventsAfter(0, 1000, { patchId: "P1", hostname: "h3", operationId: "op0" }))).to.deep.equal(
        want((e) => e.patchId === "P1" && e.hostname === "h3" && e.operationId === "op0"),
      );
      expect(await r.eventsAfter(0, 1000, { hostname: "nobody" })).to.deep.equal([]);
    });

    it("events of a rolled-back body are absent", async () => {
      await s().store.transact(async (tx) => tx.appendEvent(event(1)));
      await s()
        .store.transact(async (tx) => {
          tx.appendEvent(event(2));
          tx.appendEvent(event(3));
          throw new Error("no");
        })
        .catch(() => undefined);
      expect((await s().store.read.eventsAfter(0, 100)).map((e) => e.seq)).to.deep.equal([1]);
      expect(await s().store.read.lastEventSeq()).to.equal(1);
    });

    it("events appended by 40 concurrent bodies through the EventLog (some rolled back) are all there, contiguous and in order", async () => {
      const log = new EventLog(s().store.read);
      await log.init();
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          s().store.transact(async (tx) => {
            const a = await log.append(tx, { kind: "k", hostname: `h${i}`, message: "a" });
            const b = await log.append(tx, { kind: "k", hostname: `h${i}`, message: "b" });
            if (i % 7 === 3) throw new Error(`body ${i}`);
            return [a, b];
          }),
        ),
      );
      const committed = results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
      expect(committed).to.have.length(2 * results.filter((r) => r.status === "fulfilled").length);
      const stored = await s().store.read.eventsAfter(0, 1000);
      // Committed numbers have no gaps (a rolled-back body gives its numbers back).
      expect(stored.map((e) => e.seq)).to.deep.equal(Array.from({ length: committed.length }, (_, i) => i + 1));
      expect(stored).to.deep.equal([...committed].sort((a, b) => a.seq - b.seq));
      // Each body's two events are adjacent.
      for (let i = 0; i < stored.length; i += 2)
        expect([stored[i]!.hostname, stored[i]!.message, stored[i + 1]!.message]).to.deep.equal([stored[i + 1]!.hostname, "a", "b"]);
      expect(stored.some((e) => e.hostname === "h3")).to.equal(false);
    });

    itContract(f, "queued-write-refused", "a body appending an event with a sequence number already stored fails alone; bodies committed with it do not", async () => {
      const { store } = s();
      await store.transact(async (tx) => tx.appendEvent(event(1)));
      const held = gate();
      const running = gate();
      const first = store.transact(async () => {
        running.open();
        await held.wait;
      });
      await running.wait;
      const dup = store.transact(async (tx) => tx.appendEvent(event(1, { message: "again" })));
      const good = store.transact(async (tx) => {
        tx.appendEvent(event(2));
        return "ok";
      });
      held.open();
      await first;
      const settled = await Promise.allSettled([dup, good]);
      expect(settled[0]!.status, "the duplicate").to.equal("rejected");
      expect(settled[1], "the good body").to.deep.equal({ status: "fulfilled", value: "ok" });
      expect(await store.read.eventsAfter(0, 10)).to.deep.equal([event(1), event(2)]);
    });

    /** Commits events through `log` and publishes them. */
    const commitVia =
      (log: EventLog) =>
      async (...kinds: string[]) => {
        const evs = await s().store.transact((tx) => Promise.all(kinds.map((kind) => log.append(tx, { kind, operationId: kind.startsWith("op") ? "op1" : "" }))));
        log.publish(evs);
        return evs;
      };

    /** Reads `n` events from a watch, calling `whileWatching` once the first has arrived (the watcher is live then). */
    async function watchN(log: EventLog, afterSeq: number, filter: EventFilter, n: number, whileWatching: () => Promise<unknown>): Promise<DomainEvent[]> {
      const ac = new AbortController();
      const out: DomainEvent[] = [];
      try {
        for await (const e of log.watch(afterSeq, filter, ac.signal)) {
          out.push(e);
          if (out.length === 1) await whileWatching();
          if (out.length === n) break;
        }
      } finally {
        ac.abort();
      }
      return out;
    }

    it("EventLog over the store: append inside transact, publish; a watcher from a sequence gets history then live events, no gap, no repeat", async () => {
      const log = new EventLog(s().store.read);
      await log.init();
      const commit = commitVia(log);
      await commit("e1", "e2", "e3");
      await commit("e4");
      const got = await watchN(log, 2, {}, 5, async () => {
        await commit("e5", "e6");
        await commit("e7");
      });
      expect(got.map((e) => `${e.seq}:${e.kind}`)).to.deep.equal(["3:e3", "4:e4", "5:e5", "6:e6", "7:e7"]);
      expect(log.lastSequence).to.equal(7);
    });

    it("EventLog after reopen: numbering continues, history comes from the store, then live events (filtered too)", async () => {
      const first = new EventLog(s().store.read);
      await first.init();
      await commitVia(first)("e1", "op-a", "e3", "op-b");
      const again = await reopen();
      const log = new EventLog(again.store.read);
      await log.init();
      expect(log.lastSequence).to.equal(4);
      const commit = commitVia(log);
      const all = await watchN(log, 0, {}, 6, () => commit("op-c", "e6"));
      expect(all.map((e) => `${e.seq}:${e.kind}`)).to.deep.equal(["1:e1", "2:op-a", "3:e3", "4:op-b", "5:op-c", "6:e6"]);
      const ops = await watchN(log, 2, { operationId: "op1" }, 3, () => commit("e7", "op-d"));
      expect(ops.map((e) => `${e.seq}:${e.kind}`)).to.deep.equal(["4:op-b", "5:op-c", "8:op-d"]);
      expect((await again.store.read.eventsAfter(0, 100)).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    });
  });
}
