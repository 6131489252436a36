/** Store contract (FLOOR, issue 21, migration 11): release security floors; receipt keys and install receipts (SQL stores). */
import { expect } from "chai";
import { factories, storePerTest } from "./store-factory.js";
import type { SecurityFloorRecord } from "../../server/domain/patches/security-floor.js";
import type { InstallReceiptRecord } from "../../server/domain/hosts/install-receipts.js";

const floor = (release: string, n: number, patchId: string): SecurityFloorRecord => ({ release, floor: n, patchId, updatedAt: `2026-12-03T19:0${n}:00.000Z` });
const receipt = (hostname: string, counter: number): InstallReceiptRecord => ({
  hostname,
  counter,
  keyId: "k".repeat(64),
  operationId: `op-${counter}`,
  operation: "install",
  result: "success",
  receivedAt: "2026-12-03T19:00:00.000Z",
  envelope: `{"n":${counter}}`,
});

for (const f of factories) {
  describe(`store contract (${f.name}): security floors and install receipts`, () => {
    const { s, reopen } = storePerTest(f);

    it("a floor per release: set replaces, load lists by release, durable; a rolled-back set leaves it", async () => {
      expect(await s().store.read.loadSecurityFloors()).to.deep.equal([]);
      await s().store.transact(async (tx) => {
        await tx.setSecurityFloor(floor("20.06", 1, "B"));
        await tx.setSecurityFloor(floor("19.09", 2, "A"));
      });
      await s().store.transact((tx) => tx.setSecurityFloor(floor("19.09", 3, "C")));
      await s()
        .store.transact(async (tx) => {
          await tx.setSecurityFloor(floor("19.09", 9, "X"));
          throw new Error("no");
        })
        .catch(() => undefined);
      const again = await reopen();
      expect(await again.store.read.loadSecurityFloors()).to.deep.equal([floor("19.09", 3, "C"), floor("20.06", 1, "B")]);
    });

    it("receipt keys: per host, oldest first; receipts: only a counter above the host's last, per host, durable", async function () {
      const r = s().receipts;
      if (!r) this.skip();
      await r.insertReceiptKey({ keyId: "a".repeat(64), hostname: "h0", publicKey: "PEM-A", credentialId: "t0", registeredAt: "2026-12-03T19:00:00.000Z" });
      await r.insertReceiptKey({ keyId: "b".repeat(64), hostname: "h0", publicKey: "PEM-B", credentialId: "t1", registeredAt: "2026-12-03T19:01:00.000Z" });
      await r.insertReceiptKey({ keyId: "c".repeat(64), hostname: "h1", publicKey: "PEM-C", credentialId: "t2", registeredAt: "2026-12-03T19:00:30.000Z" });
      expect((await r.receiptKeys("h0")).map((k) => k.publicKey)).to.deep.equal(["PEM-A", "PEM-B"]);
      expect(await r.insertReceipt(receipt("h0", 1))).to.equal(true);
      expect(await r.insertReceipt(receipt("h0", 1))).to.equal(false);
      expect(await r.insertReceipt(receipt("h0", 3))).to.equal(true);
      expect(await r.insertReceipt(receipt("h0", 2))).to.equal(false);
      expect(await r.insertReceipt(receipt("h1", 1))).to.equal(true);
      const [a, b] = await Promise.all([r.insertReceipt(receipt("h1", 5)), r.insertReceipt(receipt("h1", 5))]);
      expect([a, b].filter(Boolean)).to.have.length(1);
      const again = (await reopen()).receipts!;
      expect(await again.listReceipts("h0")).to.deep.equal([receipt("h0", 1), receipt("h0", 3)]);
      expect((await again.listReceipts("h1")).map((x) => x.counter)).to.deep.equal([1, 5]);
      expect((await again.receiptKeys("h1")).map((k) => k.keyId)).to.deep.equal(["c".repeat(64)]);
    });
  });
}
