import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Db } from "../../../server/storage/db.js";

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
});
