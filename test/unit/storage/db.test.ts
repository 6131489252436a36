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
});
