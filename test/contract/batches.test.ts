/**
 * Store contract: coalesced writes (Store.batch). Items given close together are written by one
 * finalize body per batch, in the order given; batches close when their body starts or when
 * full, and commit in the order they opened; a failed batch rejects each of its callers with its
 * one error and leaves none of its writes, without touching other batches or bodies.
 */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import { gate, hostRecord, operationRecord } from "./fixtures.js";
import type { Store, StoreTx, WriteGroup } from "../../server/domain/store.js";

/** A group that writes one host per item and records each finalize call's items; the batch's value is its number. */
function hostGroup(maxItems: number, over: Partial<WriteGroup<string, number>> = {}): WriteGroup<string, number> & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    maxItems,
    async finalize(tx: StoreTx, items: readonly string[]) {
      calls.push([...items]);
      for (const h of items) await tx.hosts.upsertHost(hostRecord(h));
      await tx.setControllerState("last", items.at(-1)!);
      return calls.length;
    },
    ...over,
  };
}

/** Holds the writer (a transaction body waiting on a gate) until `release()`; what is given meanwhile queues. */
async function holdWriter(store: Store): Promise<{ release: () => Promise<void> }> {
  const held = gate();
  const running = gate();
  const first = store.transact(async (tx) => {
    await tx.setControllerState("held", "1");
    running.open();
    await held.wait;
  });
  await running.wait;
  return {
    release: async () => {
      held.open();
      await first;
    },
  };
}

async function hostnames(store: Store): Promise<string[]> {
  return (await store.read.loadHosts()).map((h) => h.hostname);
}

for (const f of factories) {
  describe(`store contract (${f.name}): coalesced writes (batch)`, () => {
    const { s } = storePerTest(f);

    it("items given while the writer is busy are written by ONE finalize body, in the order given; each caller gets the batch's value once its writes are visible", async () => {
      const { store } = s();
      const group = hostGroup(100);
      const other = hostGroup(100);
      const w = await holdWriter(store);
      const names = ["h3", "h1", "h4", "h2", "h0"];
      const seen: string[][] = [];
      const done = names.map((n) => store.batch(group, n).then(async (v) => (seen.push(await hostnames(store)), v)));
      // Another group's items never share a body with these.
      const otherDone = store.batch(other, "x1");
      expect(group.calls).to.deep.equal([]);
      await w.release();
      expect(await Promise.all(done)).to.deep.equal([1, 1, 1, 1, 1]);
      expect(await otherDone).to.equal(1);
      expect(group.calls).to.deep.equal([names]);
      expect(other.calls).to.deep.equal([["x1"]]);
      for (const h of seen) expect(h).to.include.members(names);
      expect(await hostnames(store)).to.deep.equal(["h0", "h1", "h2", "h3", "h4", "x1"]);
    });

    it("maxItems: a full batch closes; 10 items at most 4 a batch make batches of 4, 4 and 2, committed in the order given", async () => {
      const { store } = s();
      const group = hostGroup(4);
      const w = await holdWriter(store);
      const items = Array.from({ length: 10 }, (_, i) => `h${i}`);
      const done = items.map((n) => store.batch(group, n));
      await w.release();
      expect(await Promise.all(done)).to.deep.equal([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
      expect(group.calls).to.deep.equal([items.slice(0, 4), items.slice(4, 8), items.slice(8)]);
      // The last batch committed last.
      expect(await store.read.getControllerState("last")).to.equal("h9");
      expect(await hostnames(store)).to.deep.equal(items);
    });

    it("an item given after its batch's body started goes to the next batch, which commits after it", async () => {
      const { store } = s();
      const inFirst = gate();
      const goOn = gate();
      const group = hostGroup(100);
      const finalize = group.finalize.bind(group);
      group.finalize = async (tx, items) => {
        if (group.calls.length === 0) {
          inFirst.open();
          await goOn.wait;
        }
        return finalize(tx, items);
      };
      const a = store.batch(group, "a");
      await inFirst.wait;
      const b = store.batch(group, "b");
      const c = store.batch(group, "c");
      goOn.open();
      expect(await Promise.all([a, b, c])).to.deep.equal([1, 2, 2]);
      expect(group.calls).to.deep.equal([["a"], ["b", "c"]]);
      expect(await store.read.getControllerState("last")).to.equal("c");
    });

    it("enter wraps each batch's commit once, in the order the batches opened; its callers settle after enter returns, the writes durable by then", async () => {
      const { store } = s();
      const log: string[] = [];
      const group = hostGroup(2, {
        enter: async (commit) => {
          const n = log.filter((l) => l.startsWith("enter")).length + 1;
          log.push(`enter ${n}`);
          const v = await commit();
          // Its own writes are visible (a later batch's may be too: committed together).
          const mine = n === 1 ? ["a", "b"] : ["c"];
          log.push(`committed ${v}: ${(await hostnames(store)).filter((h) => mine.includes(h)).join(",")}`);
          return v;
        },
      });
      const w = await holdWriter(store);
      const done = ["a", "b", "c"].map((n) => store.batch(group, n).then((v) => log.push(`resolved ${n} ${v}`)));
      await w.release();
      await Promise.all(done);
      // The two batches' post-commit reads race (batch 2 may commit and read before batch 1's read returns): what is
      // promised is the order of the enters and that each batch's callers settle after its own enter returned.
      expect([...log].sort()).to.deep.equal(["committed 1: a,b", "committed 2: c", "enter 1", "enter 2", "resolved a 1", "resolved b 1", "resolved c 2"]);
      const at = (l: string) => log.indexOf(l);
      expect(at("enter 1")).to.be.lessThan(at("enter 2"));
      expect(at("committed 1: a,b")).to.be.lessThan(Math.min(at("resolved a 1"), at("resolved b 1")));
      expect(at("committed 2: c")).to.be.lessThan(at("resolved c 2"));
    });

    it("a batch whose finalize throws: each of its callers rejects with that one error, none of its writes stay, its onRollback hooks run; the batch before it and a body committed with it keep theirs", async () => {
      const { store } = s();
      const boom = new Error("finalize fails");
      const hooks: string[] = [];
      const group = hostGroup(3);
      const finalize = group.finalize.bind(group);
      group.finalize = async (tx, items) => {
        tx.onRollback(() => hooks.push(items.join(",")));
        const v = await finalize(tx, items);
        if (items.includes("h4")) throw boom;
        return v;
      };
      const w = await holdWriter(store);
      const settled = Promise.allSettled(["h0", "h1", "h2", "h3", "h4", "h5"].map((n) => store.batch(group, n)));
      const body = store.transact(async (tx) => {
        await tx.hosts.upsertHost(hostRecord("body"));
        return "body";
      });
      await w.release();
      const results = await settled;
      expect(results.slice(0, 3)).to.deep.equal([1, 1, 1].map((value) => ({ status: "fulfilled", value })));
      for (const r of results.slice(3)) expect(r).to.deep.equal({ status: "rejected", reason: boom });
      expect(await body).to.equal("body");
      expect(hooks).to.deep.equal(["h3,h4,h5"]);
      expect(await hostnames(store)).to.deep.equal(["body", "h0", "h1", "h2"]);
      expect(await store.read.getControllerState("last")).to.equal("h2");
      // The group goes on.
      expect(await store.batch(group, "h6")).to.equal(3);
      expect(await hostnames(store)).to.include("h6");
    });

    it("a batch whose write the store refuses (duplicate operation id) fails alone; the batch and the body committed with it do not", async () => {
      const { store } = s();
      await store.transact((tx) => tx.hosts.insertOperation(operationRecord("op1", "h1")));
      const ops: WriteGroup<string, void> = {
        maxItems: 1,
        async finalize(tx, [id]) {
          await tx.hosts.insertOperation(operationRecord(id!, "h2"));
        },
      };
      const w = await holdWriter(store);
      const settled = Promise.allSettled([store.batch(ops, "op2"), store.batch(ops, "op1"), store.batch(ops, "op3")]);
      const body = store.transact(async (tx) => {
        await tx.hosts.upsertHost(hostRecord("h1"));
        return "ok";
      });
      await w.release();
      const [a, dup, c] = await settled;
      expect([a!.status, dup!.status, c!.status]).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
      expect(await body).to.equal("ok");
      expect((await store.read.getOperation("op1"))?.hostname).to.equal("h1");
      expect((await store.read.getOperation("op2"))?.hostname).to.equal("h2");
      expect((await store.read.getOperation("op3"))?.hostname).to.equal("h2");
      expect(await hostnames(store)).to.deep.equal(["h1"]);
    });

    it("an enter that throws before committing rejects each caller of its batch; nothing of it is written", async () => {
      const { store } = s();
      const refusedEntry = new Error("not now");
      let first = true;
      const group = hostGroup(100, {
        enter: async (commit) => {
          if (first) {
            first = false;
            throw refusedEntry;
          }
          return commit();
        },
      });
      const w = await holdWriter(store);
      const settled = Promise.allSettled([store.batch(group, "a"), store.batch(group, "b")]);
      await w.release();
      expect(await settled).to.deep.equal([
        { status: "rejected", reason: refusedEntry },
        { status: "rejected", reason: refusedEntry },
      ]);
      expect(group.calls).to.deep.equal([]);
      expect(await store.batch(group, "c")).to.equal(1);
      expect(await hostnames(store)).to.deep.equal(["c"]);
    });
  });
}
