/**
 * Store contract: transactions. A body's writes become visible together when `transact`
 * resolves; a body that throws leaves nothing and rejects with its own error; concurrent bodies
 * (committed together or not) succeed or fail alone; lazy rows ride with the next commit.
 */
import { expect } from "chai";
import { factories, itContract, storePerTest } from "./store-factory.js";
import { EMPTY, alarmRecord, event, gate, hostRecord, insertPatchWithBlobs, operationRecord, patchRecord, progress, snapshot, writeOneOfEach } from "./fixtures.js";
import type { StoreTx } from "../../server/domain/store.js";
import type { AuditEntry } from "../../server/domain/auth/index.js";

const KEYS = { controllerKeys: ["key-a", "key-b"], operationIds: ["op-a", "op-b"] };

const audit = (action: string): Omit<AuditEntry, "id"> => ({
  time: "2026-12-03T10:00:00.000Z",
  actor: "tok1",
  role: "admin",
  action,
  target: "",
  outcome: "ok",
  detail: "",
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

for (const f of factories) {
  describe(`store contract (${f.name}): transactions`, () => {
    const { s, reopen } = storePerTest(f);

    it("a body's writes are visible to read only once transact resolves, all together", async () => {
      const { store } = s();
      const held = gate();
      const written = gate();
      const done = store.transact(async (tx) => {
        await writeOneOfEach(tx, "a", 1);
        written.open();
        await held.wait;
        return "result";
      });
      await written.wait;
      expect(await snapshot(store.read, KEYS)).to.deep.include(EMPTY);
      expect(await store.read.getControllerState("key-a")).to.equal(undefined);
      expect(await store.read.getOperation("op-a")).to.equal(undefined);
      held.open();
      expect(await done).to.equal("result");
      const after = await snapshot(store.read, KEYS);
      expect(after.hosts).to.have.length(1);
      expect(after.patches).to.have.length(1);
      expect(after.events).to.have.length(1);
      expect(after.alarms).to.have.length(1);
      expect(after.strategy).to.include({ uuid: "uuid-a" });
      expect(after.state).to.deep.equal({ "key-a": "value-a", "key-b": undefined });
      expect(after.releases).to.deep.equal(["R_a"]);
      expect(after.interim).to.deep.equal([["P_a", ["h-a"]]]);
      expect(after.appDependencies).to.deep.equal([["app-a", ["P_a"]]]);
    });

    it("a throwing body leaves nothing (patch, blob, release, host, operation, alarm, event, strategy, state) and rejects with its own error", async () => {
      const { store } = s();
      const boom = new Error("boom");
      const err = await rejection(
        store.transact(async (tx) => {
          await writeOneOfEach(tx, "a", 1);
          throw boom;
        }),
      );
      expect(err).to.equal(boom);
      expect(await snapshot(store.read, KEYS)).to.deep.include({ ...EMPTY, state: { "key-a": undefined, "key-b": undefined } });
      expect((await snapshot(store.read, KEYS)).operations).to.deep.equal({ "op-a": { op: undefined, latest: undefined }, "op-b": { op: undefined, latest: undefined } });
    });

    it("a throwing body committed together with a good one: the good one's writes stay, the bad one's are gone", async () => {
      const { store } = s();
      const held = gate();
      const running = gate();
      // Hold the writer so the next two bodies queue behind it (and may be committed together).
      const first = store.transact(async (tx) => {
        await tx.setControllerState("first", "1");
        running.open();
        await held.wait;
      });
      await running.wait;
      const boom = new Error("bad body");
      const bad = store.transact(async (tx) => {
        await writeOneOfEach(tx, "a", 1);
        throw boom;
      });
      const good = store.transact(async (tx) => {
        await writeOneOfEach(tx, "b", 2);
        return "b";
      });
      held.open();
      await first;
      expect(await rejection(bad)).to.equal(boom);
      expect(await good).to.equal("b");
      const snap = await snapshot(store.read, KEYS);
      expect((snap.hosts as { hostname: string }[]).map((h) => h.hostname)).to.deep.equal(["h-b"]);
      expect((snap.patches as { meta: { id: string } }[]).map((p) => p.meta.id)).to.deep.equal(["P_b"]);
      expect(snap.releases).to.deep.equal(["R_b"]);
      expect(snap.events).to.have.length(1);
      expect(snap.lastEventSeq).to.equal(2);
      expect(snap.state).to.deep.equal({ "key-a": undefined, "key-b": "value-b" });
      expect(snap.strategy).to.include({ uuid: "uuid-b" });
      expect(await store.read.getControllerState("first")).to.equal("1");
    });

    it("onRollback hooks run latest first when the body throws, and not when it commits", async () => {
      const { store } = s();
      const calls: string[] = [];
      await rejection(
        store.transact(async (tx) => {
          tx.onRollback(() => calls.push("first"));
          await tx.hosts.upsertHost(hostRecord("h1"));
          tx.onRollback(() => calls.push("second"));
          tx.onRollback(() => calls.push("third"));
          throw new Error("x");
        }),
      );
      expect(calls).to.deep.equal(["third", "second", "first"]);
      calls.length = 0;
      await store.transact(async (tx) => {
        tx.onRollback(() => calls.push("never"));
        await tx.hosts.upsertHost(hostRecord("h1"));
      });
      expect(calls).to.deep.equal([]);
    });

    it("a throwing rollback hook does not stop the others", async () => {
      const { store } = s();
      const calls: string[] = [];
      const boom = new Error("body");
      const err = await rejection(
        store.transact(async (tx) => {
          tx.onRollback(() => calls.push("first"));
          tx.onRollback(() => {
            throw new Error("hook");
          });
          throw boom;
        }),
      );
      expect(err).to.equal(boom);
      expect(calls).to.deep.equal(["first"]);
    });

    it("50 concurrent bodies, every fifth throwing: each succeeds or fails alone; the good ones all visible, the bad ones absent", async () => {
      const { store } = s();
      const N = 50;
      const bad = (i: number) => i % 5 === 2;
      const body = (i: number) => async (tx: StoreTx) => {
        // Queued-only writes and writes whose results are awaited, mixed.
        await tx.hosts.upsertHost(hostRecord(`h${String(i).padStart(2, "0")}`));
        tx.appendEvent(event(i + 1, { hostname: `h${i}` }));
        if (i % 2 === 0) await insertPatchWithBlobs(tx, patchRecord(`P_${String(i).padStart(2, "0")}`));
        await tx.setControllerState(`k${i}`, `v${i}`);
        if (i % 3 === 0) await tx.hosts.insertAlarm(alarmRecord(`alarm-${i}`));
        if (bad(i)) throw new Error(`body ${i}`);
        return i;
      };
      const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => store.transact(body(i))));
      results.forEach((r, i) => {
        if (bad(i)) expect(r.status === "rejected" && (r.reason as Error).message, `body ${i}`).to.equal(`body ${i}`);
        else expect(r.status === "fulfilled" && r.value, `body ${i}`).to.equal(i);
      });
      const good = Array.from({ length: N }, (_, i) => i).filter((i) => !bad(i));
      const hosts = (await store.read.loadHosts()).map((h) => h.hostname);
      expect(hosts).to.deep.equal(good.map((i) => `h${String(i).padStart(2, "0")}`));
      expect((await store.read.eventsAfter(0, 1000)).map((e) => e.seq)).to.deep.equal(good.map((i) => i + 1));
      expect((await store.read.loadPatches()).map((p) => p.meta.id)).to.deep.equal(good.filter((i) => i % 2 === 0).map((i) => `P_${String(i).padStart(2, "0")}`));
      expect((await store.read.loadAlarms()).map((a) => a.uuid).sort()).to.deep.equal(
        good
          .filter((i) => i % 3 === 0)
          .map((i) => `alarm-${i}`)
          .sort(),
      );
      for (let i = 0; i < N; i++) expect(await store.read.getControllerState(`k${i}`), `k${i}`).to.equal(bad(i) ? undefined : `v${i}`);
    });

    it("a body whose write the store refuses (duplicate patch id) fails alone with that error", async () => {
      const { store } = s();
      await store.transact((tx) => insertPatchWithBlobs(tx, patchRecord("P1")));
      const held = gate();
      const running = gate();
      const first = store.transact(async () => {
        running.open();
        await held.wait;
      });
      await running.wait;
      const dup = store.transact((tx) => insertPatchWithBlobs(tx, patchRecord("P1", { signer: "other" })));
      const good = store.transact(async (tx) => {
        await tx.hosts.upsertHost(hostRecord("h1"));
        return "ok";
      });
      held.open();
      await first;
      expect(await rejection(dup)).to.be.an("error");
      expect(await good).to.equal("ok");
      expect((await store.read.loadPatches()).map((p) => [p.meta.id, p.signer])).to.deep.equal([["P1", "dev"]]);
      expect((await store.read.loadHosts()).map((h) => h.hostname)).to.deep.equal(["h1"]);
    });

    itContract(f, "queued-write-refused", "a body whose write the store refuses late (duplicate operation id) fails alone; bodies committed with it do not", async () => {
      const { store } = s();
      await store.transact((tx) => tx.hosts.insertOperation(operationRecord("op1", "h1")));
      const held = gate();
      const running = gate();
      const first = store.transact(async () => {
        running.open();
        await held.wait;
      });
      await running.wait;
      const dup = store.transact((tx) => tx.hosts.insertOperation(operationRecord("op1", "h2")));
      const good = store.transact(async (tx) => {
        await tx.hosts.upsertHost(hostRecord("h1"));
        return "ok";
      });
      held.open();
      await first;
      const settled = await Promise.allSettled([dup, good]);
      expect(settled[0]!.status, "the duplicate").to.equal("rejected");
      expect(settled[1], "the good body").to.deep.equal({ status: "fulfilled", value: "ok" });
      expect((await store.read.getOperation("op1"))?.hostname).to.equal("h1");
      expect((await store.read.loadHosts()).map((h) => h.hostname)).to.deep.equal(["h1"]);
    });

    it("later: the body rides with the next transaction that commits: its writes are visible when that transaction resolves, and durable", async () => {
      const { store } = s();
      let ran = false;
      const later = store.later(async (tx) => {
        ran = true;
        await tx.hosts.upsertHost(hostRecord("h-later"));
        await tx.setControllerState("later", "yes");
        return "later value";
      }, 60_000);
      // Not run (nor visible) before a transaction commits.
      expect(await store.read.loadHosts()).to.deep.equal([]);
      await store.transact((tx) => tx.hosts.upsertHost(hostRecord("h-tx")));
      expect(ran).to.equal(true);
      expect((await store.read.loadHosts()).map((h) => h.hostname)).to.deep.equal(["h-later", "h-tx"]);
      expect(await later).to.equal("later value");
      const again = await reopen();
      expect(await again.store.read.getControllerState("later")).to.equal("yes");
    });

    it("later alone commits after its delay, durable when it resolves", async () => {
      const { store } = s();
      const value = await store.later(async (tx) => {
        await tx.hosts.upsertHost(hostRecord("h1"));
        tx.appendEvent(event(1));
        return 42;
      }, 5);
      expect(value).to.equal(42);
      const again = await reopen();
      expect((await again.store.read.loadHosts()).map((h) => h.hostname)).to.deep.equal(["h1"]);
      expect((await again.store.read.eventsAfter(0, 10)).map((e) => e.seq)).to.deep.equal([1]);
    });

    it("later bodies run in the order they were given", async () => {
      const { store } = s();
      const order: number[] = [];
      const all = [1, 2, 3, 4].map((i) =>
        store.later(async (tx) => {
          order.push(i);
          await tx.setControllerState("k", `v${i}`);
        }, 5),
      );
      await Promise.all(all);
      expect(order).to.deep.equal([1, 2, 3, 4]);
      expect(await store.read.getControllerState("k")).to.equal("v4");
    });

    it("later: a body committed with a throwing transaction body keeps its writes", async () => {
      const { store } = s();
      const later = store.later((tx) => tx.hosts.upsertHost(hostRecord("h-later")), 60_000);
      const boom = new Error("tx body fails");
      expect(
        await rejection(
          store.transact(async (tx) => {
            await tx.hosts.upsertHost(hostRecord("h-tx"));
            throw boom;
          }),
        ),
      ).to.equal(boom);
      await later;
      expect((await store.read.loadHosts()).map((h) => h.hostname)).to.deep.equal(["h-later"]);
    });

    it("later: a throwing body fails its commit: the later bodies of it reject, their writes are absent, their onRollback hooks run", async () => {
      const { store } = s();
      const calls: string[] = [];
      const boom = new Error("later body fails");
      const first = store.later(async (tx) => {
        tx.onRollback(() => calls.push("first"));
        await tx.hosts.upsertHost(hostRecord("h1"));
      }, 5);
      const second = store.later(async () => {
        throw boom;
      }, 5);
      expect(await rejection(second)).to.equal(boom);
      expect(await rejection(first)).to.be.an("error");
      expect(calls).to.deep.equal(["first"]);
      expect(await store.read.loadHosts()).to.deep.equal([]);
      // The store goes on.
      await store.transact((tx) => tx.hosts.upsertHost(hostRecord("h2")));
      expect((await store.read.loadHosts()).map((h) => h.hostname)).to.deep.equal(["h2"]);
    });

    it("a lazy row (audit append) rides with the next commit and is durable when it resolves", async () => {
      const { store, auth } = s();
      const appended = auth.audit.appendAudit(audit("A"));
      await store.transact((tx) => tx.hosts.upsertHost(hostRecord("h1")));
      // Committed with that transaction: listed as soon as the transaction resolves.
      expect((await auth.audit.listAudit(0, 10)).map((e) => e.action)).to.deep.equal(["A"]);
      await appended;
      const again = await reopen();
      expect((await again.auth.audit.listAudit(0, 10)).map((e) => e.action)).to.deep.equal(["A"]);
    });

    it("a lazy row alone commits after its delay", async () => {
      const { auth } = s();
      await auth.audit.appendAudit(audit("alone"));
      expect((await auth.audit.listAudit(0, 10)).map((e) => e.action)).to.deep.equal(["alone"]);
      const again = await reopen();
      expect((await again.auth.audit.listAudit(0, 10)).map((e) => e.action)).to.deep.equal(["alone"]);
    });

    it("a lazy row does not fail with the body it rides with", async () => {
      const { store, auth } = s();
      const appended = auth.audit.appendAudit(audit("kept"));
      const boom = new Error("body fails");
      expect(
        await rejection(
          store.transact(async (tx) => {
            await tx.hosts.upsertHost(hostRecord("h1"));
            throw boom;
          }),
        ),
      ).to.equal(boom);
      await appended;
      expect((await auth.audit.listAudit(0, 10)).map((e) => e.action)).to.deep.equal(["kept"]);
      expect(await store.read.loadHosts()).to.deep.equal([]);
    });

    it("what is read after reopen() equals what was read before", async () => {
      await s().store.transact((tx) => writeOneOfEach(tx, "a", 1));
      await s().store.transact((tx) => writeOneOfEach(tx, "b", 2));
      await s().store.transact(async (tx) => {
        await tx.hosts.updateOperation("op-a", "done", progress("op-a", "h-a", { phase: "done", terminal: true }));
        await tx.patches.setRepoState("P_a", "Applied");
      });
      const before = await snapshot(s().store.read, KEYS);
      const again = await reopen();
      const after = await snapshot(again.store.read, KEYS);
      expect(after).to.deep.equal(before);
      expect((before.patches as unknown[]).length).to.equal(2);
    });
  });
}
