/** Store contract: the single orchestration strategy document. */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import type { StrategyDocument } from "../../server/domain/store.js";

const doc = (uuid: string, state = "building"): StrategyDocument => ({
  uuid,
  name: "sw-patch",
  state,
  json: JSON.stringify({ uuid, state, stages: [{ name: "stage-1" }] }),
});

for (const f of factories) {
  describe(`store contract (${f.name}): strategies`, () => {
    const { s, reopen } = storePerTest(f);

    it("save/load round trip; a second save replaces the document; durable", async () => {
      expect(await s().store.read.loadStrategy()).to.equal(undefined);
      await s().store.transact((tx) => tx.saveStrategy(doc("u1")));
      expect(await s().store.read.loadStrategy()).to.deep.equal(doc("u1"));
      await s().store.transact((tx) => tx.saveStrategy(doc("u2", "applying")));
      expect(await s().store.read.loadStrategy()).to.deep.equal(doc("u2", "applying"));
      const again = await reopen();
      expect(await again.store.read.loadStrategy()).to.deep.equal(doc("u2", "applying"));
    });

    it("deleteStrategy: true when there was one, then false; load gives undefined", async () => {
      expect(await s().store.transact((tx) => tx.deleteStrategy())).to.equal(false);
      await s().store.transact((tx) => tx.saveStrategy(doc("u1")));
      expect(await s().store.transact(async (tx) => [await tx.deleteStrategy(), await tx.deleteStrategy()])).to.deep.equal([true, false]);
      expect(await s().store.read.loadStrategy()).to.equal(undefined);
      const again = await reopen();
      expect(await again.store.read.loadStrategy()).to.equal(undefined);
    });

    it("a rolled-back save or delete leaves the document as it was", async () => {
      await s().store.transact((tx) => tx.saveStrategy(doc("u1")));
      await s()
        .store.transact(async (tx) => {
          await tx.saveStrategy(doc("u2"));
          throw new Error("no");
        })
        .catch(() => undefined);
      expect(await s().store.read.loadStrategy()).to.deep.equal(doc("u1"));
      let deleted: boolean | undefined;
      await s()
        .store.transact(async (tx) => {
          deleted = await tx.deleteStrategy();
          throw new Error("no");
        })
        .catch(() => undefined);
      expect(deleted).to.equal(true);
      expect(await s().store.read.loadStrategy()).to.deep.equal(doc("u1"));
    });
  });
}
