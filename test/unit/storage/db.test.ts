import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Db } from "../../../server/storage/sqlite/db.js";
import { EventLog } from "../../../server/domain/events/event-log.js";
import { migrations } from "../../../server/storage/sqlite/migrations/index.js";
import { SqliteStore } from "../../../server/storage/sqlite/store.js";

/** The store's transactions on a real sqlite file: group commit with per-body savepoints. */
describe("Db.tx (group commit)", () => {
  let dir: string;
  let db: Db;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-db-"));
    db = await Db.open(path.join(dir, "t.sqlite"), [{ version: 1, name: "t", sql: "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)" }]);
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = async () => (await db.read.all<{ k: string; v: number }>("SELECT k, v FROM t ORDER BY k")).map((r) => `${r.k}=${r.v}`);

  it("commits concurrent bodies together; a failing body is rolled back alone and its caller rejected", async () => {
    const commitsBefore = db.commitCount;
    const results = await Promise.allSettled([
      db.tx(async (tx) => void (await tx.run("INSERT INTO t VALUES ('a', 1)"))),
      db.tx(async (tx) => {
        await tx.run("INSERT INTO t VALUES ('b', 2)");
        throw new Error("body b fails after writing");
      }),
      db.tx(async (tx) => {
        // Sees the earlier body's write of the same group (same connection, in order).
        const a = await tx.get<{ v: number }>("SELECT v FROM t WHERE k = 'a'");
        await tx.run("INSERT INTO t VALUES ('c', ?)", [(a?.v ?? 0) + 10]);
        return "c done";
      }),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).to.equal("body b fails after writing");
    expect((results[2] as PromiseFulfilledResult<string>).value).to.equal("c done");
    expect(await rows()).to.deep.equal(["a=1", "c=11"]);
    // The first body ran alone; the other two queued meanwhile and shared one commit.
    expect(db.commitCount - commitsBefore).to.equal(2);
    expect(db.txCount).to.equal(3);
  });

  it("lazy writes: ride with the next transaction (no commit of their own), survive a lone body's failure, else commit alone after the delay; close writes the rest", async () => {
    // With a transaction: one commit for both.
    let c0 = db.commitCount;
    const lazy = db.writeLazily("INSERT INTO t VALUES (?, ?)", ["lazy1", 1], 10_000);
    await db.tx(async (tx) => tx.write("INSERT INTO t VALUES ('body1', 1)"));
    await lazy;
    expect(db.commitCount - c0).to.equal(1);
    expect(await rows()).to.deep.equal(["body1=1", "lazy1=1"]);

    // A lone body that fails does not take the lazy row with it.
    c0 = db.commitCount;
    const lazy2 = db.writeLazily("INSERT INTO t VALUES (?, ?)", ["lazy2", 2], 10_000);
    const failed = await db
      .tx(async (tx) => {
        await tx.run("INSERT INTO t VALUES ('body1', 9)"); // primary key violation
      })
      .then(
        () => null,
        (e: Error) => e,
      );
    expect(failed?.message).to.match(/UNIQUE constraint failed/);
    await lazy2;
    expect(db.commitCount - c0).to.equal(1);
    expect(await rows()).to.deep.equal(["body1=1", "lazy1=1", "lazy2=2"]);

    // Alone: its own commit once the delay has passed, not before.
    c0 = db.commitCount;
    let done = false;
    const lazy3 = db.writeLazily("INSERT INTO t VALUES (?, ?)", ["lazy3", 3], 60).then(() => void (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).to.equal(false);
    await lazy3;
    expect(db.commitCount - c0).to.equal(1);

    // A lazy row that fails (constraint) rejects, and so does the group it rode with.
    const bad = db.writeLazily("INSERT INTO t VALUES (?, ?)", ["lazy3", 4], 10_000).then(
      () => null,
      (e: Error) => e,
    );
    const body = db
      .tx(async (tx) => tx.write("INSERT INTO t VALUES ('body2', 1)"))
      .then(
        () => null,
        (e: Error) => e,
      );
    expect((await bad)?.message).to.match(/UNIQUE constraint failed/);
    expect((await body)?.message).to.match(/UNIQUE constraint failed/);
    expect(await rows()).to.deep.equal(["body1=1", "lazy1=1", "lazy2=2", "lazy3=3"]);

    // Close writes what is still waiting.
    const last = db.writeLazily("INSERT INTO t VALUES (?, ?)", ["lazy4", 4], 10_000);
    await db.close();
    await last;
    db = await Db.open(path.join(dir, "t.sqlite"), [{ version: 1, name: "t", sql: "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)" }]);
    expect(await rows()).to.include("lazy4=4");
  });

  it("a lone failing body leaves nothing behind", async () => {
    await db.tx(async (tx) => void (await tx.run("INSERT INTO t VALUES ('x', 1)")));
    await db
      .tx(async (tx) => {
        await tx.run("UPDATE t SET v = 99 WHERE k = 'x'");
        await tx.run("INSERT INTO t VALUES ('x', 2)"); // primary key violation
      })
      .then(
        () => expect.fail("should reject"),
        (e: Error) => expect(e.message).to.match(/UNIQUE constraint failed/),
      );
    expect(await rows()).to.deep.equal(["x=1"]);
    await db.tx(async (tx) => void (await tx.run("UPDATE t SET v = 5 WHERE k = 'x'")));
    expect(await rows()).to.deep.equal(["x=5"]);
  });

  it("a group whose body fails as the last one still commits the others (RELEASE rides with COMMIT)", async () => {
    const first = db.tx(async (tx) => void (await tx.run("INSERT INTO t VALUES ('p', 1)")));
    const results = await Promise.allSettled([
      first,
      db.tx(async (tx) => void (await tx.run("INSERT INTO t VALUES ('q', 2)"))),
      db.tx(async (tx) => void (await tx.run("INSERT INTO t VALUES ('q', 3)"))), // duplicate key, last of its group
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "fulfilled", "rejected"]);
    expect(await rows()).to.deep.equal(["p=1", "q=2"]);
  });

  it("cached statements: the reader sees every new commit, a bad statement fails alone, the cache stays bounded", async () => {
    const read = () => db.read.get<{ v: number }>("SELECT v FROM t WHERE k = ?", ["k"]);
    await db.tx(async (tx) => void (await tx.run("INSERT INTO t VALUES ('k', 1)")));
    expect((await read())?.v).to.equal(1);
    // The same cached SELECT must not hold a snapshot from its last call.
    for (let i = 2; i <= 5; i++) {
      await db.tx(async (tx) => void (await tx.run("UPDATE t SET v = ? WHERE k = 'k'", [i])));
      expect((await read())?.v).to.equal(i);
    }
    // A statement that does not prepare rejects with sqlite's message, every time, and the
    // connection goes on.
    for (let i = 0; i < 2; i++) {
      await db.read.all("SELECT nope FROM t").then(
        () => expect.fail("should reject"),
        (e: Error) => expect(e.message).to.match(/no such column: nope/),
      );
    }
    // More distinct statements than the cache keeps: all answer correctly.
    for (let i = 0; i < 300; i++) {
      const r = await db.read.get<{ x: number }>(`SELECT v + ${i} AS x FROM t WHERE k = 'k'`);
      expect(r?.x).to.equal(5 + i);
    }
    expect((await read())?.v).to.equal(5);
  });

  it("queued writes: values round-trip exactly (quotes, NUL, unicode, '?'), a body reads its own queued writes", async () => {
    const values = ["it's", "a?b", "nul\u0000inside", "ünïcødé ✓ 🚀", "", "'; DROP TABLE t; --", "line\nbreak"];
    const seen = await db.tx(async (tx) => {
      values.forEach((v, i) => tx.write("INSERT INTO t (k, v) VALUES (?, ?)", [v, i]));
      // A read in the same body sees what it queued (queued writes go first).
      return (await tx.all<{ k: string }>("SELECT k FROM t ORDER BY v")).map((r) => r.k);
    });
    expect(seen).to.deep.equal(values);
    await db.tx(async (tx) => void tx.write("UPDATE t SET v = ? WHERE k = ?", [100, "it's"]));
    const back = await db.read.all<{ k: string; v: number }>("SELECT k, v FROM t ORDER BY k");
    expect(back.map((r) => r.k).sort()).to.deep.equal([...values].sort());
    expect(back.find((r) => r.k === "it's")?.v).to.equal(100);
    await db
      .tx(async (tx) => tx.write("INSERT INTO t (k, v) VALUES (?, ?)", ["only one"]))
      .then(
        () => expect.fail("should reject"),
        (e: Error) => expect(e.message).to.match(/too few parameters/),
      );
  });

  it("queued writes: a throwing body's writes never land and its rollback hooks run; a refused queued write fails its body alone", async () => {
    const hooks: string[] = [];
    const results = await Promise.allSettled([
      db.tx(async (tx) => void tx.write("INSERT INTO t VALUES ('first', 1)")),
      db.tx(async (tx) => {
        tx.write("INSERT INTO t VALUES ('dropped', 2)");
        tx.onRollback(() => hooks.push("dropped"));
        throw new Error("changed its mind");
      }),
      db.tx(async (tx) => {
        tx.onRollback(() => hooks.push("kept"));
        tx.write("INSERT INTO t VALUES ('kept', 3)");
      }),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect(hooks).to.deep.equal(["dropped"]);
    expect(await rows()).to.deep.equal(["first=1", "kept=3"]);

    // Now a queued write that violates the primary key: its body alone is rejected (its hooks
    // run, nothing of it is stored); the other bodies of its group commit.
    hooks.length = 0;
    const gate = db.tx(async (tx) => void tx.write("INSERT INTO t VALUES ('gate', 0)"));
    const group = await Promise.allSettled([
      db.tx(async (tx) => {
        tx.onRollback(() => hooks.push("a"));
        tx.write("INSERT INTO t VALUES ('a', 1)");
      }),
      db.tx(async (tx) => {
        tx.onRollback(() => hooks.push("b"));
        tx.write("INSERT INTO t VALUES ('b', 2)");
        tx.write("INSERT INTO t VALUES ('first', 9)"); // duplicate key
      }),
      db.tx(async (tx) => {
        tx.onRollback(() => hooks.push("c"));
        tx.write("INSERT INTO t VALUES ('c', 3)");
      }),
    ]);
    await gate;
    expect(group.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect(String((group[1] as PromiseRejectedResult).reason)).to.match(/UNIQUE constraint failed/);
    expect(hooks).to.deep.equal(["b"]);
    expect(await rows()).to.deep.equal(["a=1", "c=3", "first=1", "gate=0", "kept=3"]);

    // Found when a later body reads (its flush sends the refused write): that later body goes on
    // unaffected and sees the refused body's writes undone; the refused body fails alone.
    hooks.length = 0;
    const gate2 = db.tx(async (tx) => void tx.write("INSERT INTO t VALUES ('gate2', 0)"));
    const group2 = await Promise.allSettled([
      db.tx(async (tx) => {
        tx.onRollback(() => hooks.push("d"));
        tx.write("INSERT INTO t VALUES ('d', 4)");
        tx.write("INSERT INTO t VALUES ('a', 9)"); // duplicate key
      }),
      db.tx(async (tx) => {
        tx.write("INSERT INTO t VALUES ('e', 5)");
        return (await tx.all<{ k: string }>("SELECT k FROM t WHERE k IN ('d', 'e') ORDER BY k")).map((r) => r.k);
      }),
      // A body whose own queued write is refused when it reads: the read rejects; whatever it does then, it fails.
      db.tx(async (tx) => {
        tx.onRollback(() => hooks.push("f"));
        tx.write("INSERT INTO t VALUES ('f', 6)");
        tx.write("INSERT INTO t VALUES ('c', 9)"); // duplicate key
        const err = await tx.get("SELECT 1").then(
          () => undefined,
          (e: Error) => e,
        );
        expect(() => tx.write("INSERT INTO t VALUES ('g', 7)")).to.throw(/UNIQUE/);
        return err?.message;
      }),
    ]);
    await gate2;
    expect(group2.map((r) => r.status)).to.deep.equal(["rejected", "fulfilled", "rejected"]);
    expect((group2[1] as PromiseFulfilledResult<string[]>).value).to.deep.equal(["e"]);
    expect(String((group2[2] as PromiseRejectedResult).reason)).to.match(/UNIQUE constraint failed/);
    expect(hooks).to.deep.equal(["d", "f"]);
    expect(await rows()).to.deep.equal(["a=1", "c=3", "e=5", "first=1", "gate=0", "gate2=0", "kept=3"]);

    // A lone body's refused write: nothing of it stored. The connection goes on.
    expect(
      await db
        .tx(async (tx) => void tx.write("INSERT INTO t VALUES ('first', 9)"))
        .then(
          () => "ok",
          (e: Error) => e.message,
        ),
    ).to.match(/UNIQUE/);
    await db.tx(async (tx) => void tx.write("INSERT INTO t VALUES ('after', 4)"));
    expect(await rows()).to.deep.equal(["a=1", "after=4", "c=3", "e=5", "first=1", "gate=0", "gate2=0", "kept=3"]);
  });

  it("refused queued writes, seeded random groups: a body fails exactly when it threw or wrote a refused row; only the others' rows land", async () => {
    let seed = 15;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    await db.tx(async (tx) => void tx.write("INSERT INTO t VALUES ('base', 0)"));
    const expected = new Set(["base=0"]);
    for (let round = 0; round < 40; round++) {
      let release!: () => void;
      let entered!: () => void;
      const hold = new Promise<void>((r) => (release = r));
      const running = new Promise<void>((r) => (entered = r));
      const holder = db.tx(async () => {
        entered();
        await hold;
      });
      await running;
      const n = 1 + Math.floor(rand() * 6);
      const plans = Array.from({ length: n }, (_, b) => ({
        rows: Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, j) => `r${round}-${b}-${j}`),
        dupAt: rand() < 0.35 ? Math.floor(rand() * 3) : -1,
        readAt: rand() < 0.5 ? Math.floor(rand() * 3) : -1,
        throws: rand() < 0.15,
      }));
      const settled = Promise.allSettled(
        plans.map((p) =>
          db.tx(async (tx) => {
            for (let j = 0; j < p.rows.length; j++) {
              if (j === p.dupAt) tx.write("INSERT INTO t VALUES ('base', 1)");
              tx.write("INSERT INTO t VALUES (?, ?)", [p.rows[j]!, round]);
              if (j === p.readAt) await tx.get("SELECT count(*) AS n FROM t").catch(() => undefined);
            }
            if (p.throws) throw new Error("thrown");
          }),
        ),
      );
      release();
      await holder;
      const results = await settled;
      plans.forEach((p, b) => {
        const ok = !p.throws && (p.dupAt < 0 || p.dupAt >= p.rows.length);
        expect(results[b]!.status, `round ${round} body ${b}`).to.equal(ok ? "fulfilled" : "rejected");
        if (ok) for (const r of p.rows) expected.add(`${r}=${round}`);
      });
      expect(await rows(), `round ${round}`).to.deep.equal([...expected].sort());
    }
  });

  it("event sequence numbers: a rolled-back body gives its numbers back, committed numbers have no gap", async () => {
    const events = await Db.open(path.join(dir, "ev.sqlite"), migrations);
    try {
      const store = new SqliteStore(events);
      const log = new EventLog(store.read);
      await log.init();
      const settled = await Promise.allSettled([
        store.transact(async (tx) => (await log.append(tx, { kind: "a" })).seq),
        store.transact(async (tx) => {
          await log.append(tx, { kind: "lost" });
          await log.append(tx, { kind: "lost" });
          throw new Error("rolled back");
        }),
        store.transact(async (tx) => (await log.append(tx, { kind: "b" })).seq),
      ]);
      expect(settled.map((r) => (r.status === "fulfilled" ? r.value : "x"))).to.deep.equal([1, "x", 2]);
      const seqs = (await events.read.all<{ seq: number; kind: string }>("SELECT seq, kind FROM events ORDER BY seq")).map((r) => `${r.seq}:${r.kind}`);
      expect(seqs).to.deep.equal(["1:a", "2:b"]);
    } finally {
      await events.close();
    }
  });

  it("later: a body rides the next transaction (first, sharing its fate), with its value; a throwing one fails that whole group", async () => {
    let hooks = 0;
    const first = db.later((tx) => {
      tx.write("INSERT INTO t VALUES (?, ?)", ["later1", 1]);
      tx.onRollback(() => hooks++);
      return "v1";
    }, 10_000);
    const read = await db.tx(async (tx) => (await tx.get<{ v: number }>("SELECT v FROM t WHERE k = 'later1'"))?.v);
    expect(read).to.equal(1); // the body ran first, in the same transaction
    expect(await first).to.equal("v1");
    const bad = db.later(() => {
      throw new Error("later body fails");
    }, 10_000);
    const other = db.tx(async (tx) => void tx.write("INSERT INTO t VALUES ('lost', 9)"));
    const [b, o] = await Promise.allSettled([bad, other]);
    expect(b.status).to.equal("rejected");
    expect((o as PromiseRejectedResult).reason.message).to.equal("later body fails");
    expect(await rows()).to.deep.equal(["later1=1"]);
    expect(hooks).to.equal(0);
    // Alone after its delay.
    expect(await db.later(async (tx) => (tx.write("INSERT INTO t VALUES ('alone', 2)"), 7), 5)).to.equal(7);
    expect(await rows()).to.deep.equal(["alone=2", "later1=1"]);
  });
});
