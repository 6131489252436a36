import { expect } from "chai";
import { EventLog, type DomainEvent } from "../../../server/domain/events/event-log.js";
import { UnitOfWork } from "../../../server/domain/unit-of-work.js";
import { FakeStore } from "../../lib/fake-store.js";

/** The unit of work over a fake store: the lock, adopt-after-commit, publish-after-adopt. */
describe("UnitOfWork", () => {
  async function setup() {
    const store = new FakeStore();
    const events = new EventLog(store.read);
    await events.init();
    const seen: DomainEvent[] = [];
    const ac = new AbortController();
    void (async () => {
      for await (const e of events.watch(0, {}, ac.signal)) seen.push(e);
    })();
    return { store, events, uow: new UnitOfWork({ store, events }), seen, stop: () => ac.abort() };
  }

  it("refuses commit outside exclusive(); inside it, hooks run after the commit and before the events are published", async () => {
    const { uow, store, seen, stop } = await setup();
    const e = await uow
      .commit(async () => undefined)
      .then(
        () => undefined,
        (x: Error) => x,
      );
    expect(e?.message).to.equal("UnitOfWork.commit outside exclusive()");
    const order: string[] = [];
    let memory = "old";
    await uow.exclusive(() =>
      uow.commit(async (w) => {
        await w.event({ kind: "k1" });
        w.afterCommit(() => {
          order.push(`adopt:${store.commits}:${seen.length}`);
          memory = "new";
        });
        // Inside the body, nothing is adopted yet.
        order.push(`body:${memory}`);
      }),
    );
    while (seen.length === 0) await new Promise((r) => setImmediate(r));
    expect(order).to.deep.equal(["body:old", "adopt:1:0"]);
    expect(memory).to.equal("new");
    expect(seen.map((x) => x.kind)).to.deep.equal(["k1"]);
    stop();
  });

  it("a failed commit runs no hook and publishes nothing; exclusive() runs bodies one at a time in call order", async () => {
    const { uow, store, events, stop } = await setup();
    store.failNext = new Error("injected");
    let adopted = false;
    const r = await uow
      .write(async (w) => {
        await w.event({ kind: "lost" });
        w.afterCommit(() => (adopted = true));
      })
      .then(
        () => "ok",
        (x: Error) => x.message,
      );
    expect([r, adopted, events.lastSequence]).to.deep.equal(["injected", false, 0]);
    const log: string[] = [];
    const body = (name: string) => async () => {
      log.push(`${name}+${uow.held}`);
      await new Promise((res) => setImmediate(res));
      log.push(`${name}-`);
    };
    await Promise.all([uow.exclusive(body("a")), uow.exclusive(body("b"))]);
    expect(log).to.deep.equal(["a+true", "a-", "b+true", "b-"]);
    expect(uow.held).to.equal(false);
    stop();
  });

  it("group: items given while the lock is held go to ONE body under the lock; adopted after the commit, before the callers resolve; a failed batch adopts nothing", async () => {
    const { uow, store, seen, stop } = await setup();
    const memory: string[] = [];
    const bodies: string[][] = [];
    const group = uow.group<string>({
      maxItems: 10,
      body: async (w, items) => {
        bodies.push([...items]);
        expect(uow.held, "the body holds the lock").to.equal(true);
        for (const i of items) await w.event({ kind: "item", message: i });
        if (items.includes("bad")) throw new Error("bad item");
        w.afterCommit(() => memory.push(...items));
      },
    });
    /** Holds the lock until the returned function is called. */
    const holdLock = async () => {
      let release!: () => void;
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const held = uow.exclusive(() => {
        entered();
        return new Promise<void>((r) => (release = r));
      });
      await inside;
      return async () => {
        release();
        await held;
      };
    };
    let unlock = await holdLock();
    const order: string[] = [];
    const done = ["a", "b", "c"].map((i) => group.add(i).then(() => order.push(`${i}:${memory.join("")}:${store.commits}`)));
    await unlock();
    await Promise.all(done);
    expect(bodies).to.deep.equal([["a", "b", "c"]]);
    expect(order).to.deep.equal(["a:abc:1", "b:abc:1", "c:abc:1"]);
    while (seen.length < 3) await new Promise((r) => setImmediate(r));
    expect(seen.map((e) => e.message)).to.deep.equal(["a", "b", "c"]);

    unlock = await holdLock();
    const failing = Promise.allSettled([group.add("d"), group.add("bad")]);
    await unlock();
    const failed = await failing;
    expect(failed.map((r) => r.status)).to.deep.equal(["rejected", "rejected"]);
    expect(memory.join("")).to.equal("abc");
    expect(store.eventsOf("item").map((e) => e.message)).to.deep.equal(["a", "b", "c"]);
    stop();
  });
});
