/**
 * PgBlobStore on a real PostgreSQL: chunk boundaries, a crash of PostgreSQL in the middle of a put (UNAVAILABLE),
 * concurrent puts of one blob, content that does not match its name.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, promises as fsp } from "node:fs";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { Pool } from "pg";
import { PgBlobStore } from "../../server/storage/postgres/blob-store.js";
import { BLOB_SCHEMA_SQL, ensureBlobSchema } from "../../server/storage/postgres/migrations/blobs.js";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";
import { DomainError } from "../../server/domain/errors.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function readAll(r: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c);
  return Buffer.concat(parts);
}

describe("PgBlobStore on PostgreSQL", function () {
  this.timeout(120_000);
  let pg: PostgresServer;
  let dir: string;
  const pools: Pool[] = [];

  before(async function () {
    pg = await startPostgresOrSkip(this);
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "swpatch-pgblobs-test-"));
  });
  after(async () => {
    for (const p of pools) await p.end().catch(() => undefined);
    await pg?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  async function fresh(chunkBytes: number): Promise<{ store: PgBlobStore; pool: Pool; url: string }> {
    const url = await pg.createDatabase();
    const pool = new Pool({ connectionString: url, max: 6 });
    pool.on("error", () => undefined);
    pools.push(pool);
    const store = new PgBlobStore(pool, { chunkBytes, readAhead: 3, fileDir: await fsp.mkdtemp(path.join(dir, "files-")) });
    await store.init();
    return { store, pool, url };
  }

  async function file(data: Buffer): Promise<string> {
    const f = path.join(dir, `in-${randomBytes(6).toString("hex")}`);
    await fsp.writeFile(f, data);
    return f;
  }

  it("chunk boundaries: 0 bytes, exactly one chunk, one chunk + 1, many chunks read back whole through every read path", async () => {
    const chunk = 1000;
    const { store, pool } = await fresh(chunk);
    const cases = [
      { data: Buffer.alloc(0), chunks: 0 },
      { data: randomBytes(chunk), chunks: 1 },
      { data: randomBytes(chunk + 1), chunks: 2 },
      { data: randomBytes(chunk * 17 + 333), chunks: 18 },
    ];
    for (const c of cases) {
      const s = sha(c.data);
      await store.put(await file(c.data), s);
      expect(await store.stat(s), `stat of ${c.data.length} bytes`).to.deep.equal({ size: c.data.length, chunks: c.chunks });
      const { rows } = await pool.query<{ n: number; max: number }>("SELECT count(*)::int AS n, max(length(data))::int AS max FROM blob_chunks WHERE sha256 = $1", [s]);
      expect(rows[0]!.n).to.equal(c.chunks);
      if (c.chunks > 0) expect(rows[0]!.max).to.equal(Math.min(chunk, c.data.length));
      expect(await store.readSmall(s)).to.deep.equal(c.data);
      expect(await readAll(await store.openRead(s))).to.deep.equal(c.data);
      expect(await fsp.readFile(await store.fileOf(s))).to.deep.equal(c.data);
    }
    expect((await store.list()).length).to.equal(cases.length);
  });

  it("content that does not hash to the given sha256 is refused and nothing is stored", async () => {
    const { store, pool } = await fresh(4096);
    const data = randomBytes(10_000);
    const wrong = sha(Buffer.from("something else"));
    const err = await store.put(await file(data), wrong).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/does not match its sha256/);
    expect(await store.list()).to.deep.equal([]);
    expect((await pool.query("SELECT 1 FROM blob_chunks")).rowCount).to.equal(0);
  });

  it("concurrent puts of the same blob (two stores, as two controllers): one copy, every put resolves, content whole", async () => {
    const { store, url, pool } = await fresh(64 << 10);
    const other = new Pool({ connectionString: url, max: 4 });
    other.on("error", () => undefined);
    pools.push(other);
    const second = new PgBlobStore(other, { chunkBytes: 64 << 10 });
    const data = randomBytes(3 << 20);
    const s = sha(data);
    const inputs = await Promise.all([1, 2, 3, 4, 5, 6].map(() => file(data)));
    await Promise.all(inputs.map((f, i) => (i % 2 ? second : store).put(f, s, { move: i < 3 })));
    expect(await store.list()).to.deep.equal([s]);
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM blob_chunks WHERE sha256 = $1", [s]);
    expect(rows[0]!.n).to.equal(48);
    expect(sha(await readAll(await second.openRead(s)))).to.equal(s);
    for (const [i, f] of inputs.entries())
      expect(
        await fsp.access(f).then(
          () => true,
          () => false,
        ),
        `input ${i}`,
      ).to.equal(i >= 3);
  });

  it("a kill -9 of PostgreSQL in the middle of a put: the put rejects, no blob or chunk is visible, a retry succeeds", async function () {
    if (spawnSync("mkfifo", ["--help"]).status !== 0) this.skip();
    const { store, url } = await fresh(64 << 10);
    const data = randomBytes(8 << 20);
    const s = sha(data);
    // The put reads a named pipe: it has sent the first half when our write of it has drained.
    const fifo = path.join(dir, `fifo-${randomBytes(4).toString("hex")}`);
    expect(spawnSync("mkfifo", [fifo]).status).to.equal(0);
    const put = store.put(fifo, s);
    put.catch(() => undefined);
    const w = createWriteStream(fifo);
    // Once the put fails it closes the pipe: the rest of our writes then meet EPIPE, as expected.
    const writerErrors: string[] = [];
    w.on("error", (e: NodeJS.ErrnoException) => writerErrors.push(e.code ?? e.message));
    await new Promise<void>((resolve, reject) => w.write(data.subarray(0, 4 << 20), (e) => (e ? reject(e) : resolve())));
    // Wait (by asking the server, not by time) until the put's transaction is open and has written chunks.
    const watcher = new Pool({ connectionString: url, max: 1 });
    watcher.on("error", () => undefined);
    for (;;) {
      const { rows } = await watcher.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE 'INSERT INTO blob_chunks%'",
      );
      if (rows[0]!.n > 0) break;
    }
    await watcher.end();
    await pg.restart({ crash: true });
    // The rest of the file: the put's next insert meets the dead connection.
    w.end(data.subarray(4 << 20));
    const err = await put.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err, "the cut put rejects").to.be.instanceOf(Error);
    // As the store's transactions do: UNAVAILABLE to the caller (retry), not an internal error.
    expect(err, String(err)).to.be.instanceOf(DomainError);
    expect([(err as DomainError).kind, (err as DomainError).reason]).to.deep.equal(["unavailable", "STORE_UNAVAILABLE"]);
    expect(writerErrors.filter((c) => c !== "EPIPE")).to.deep.equal([]);
    const after = new Pool({ connectionString: url, max: 4 });
    after.on("error", () => undefined);
    pools.push(after);
    const again = new PgBlobStore(after, { chunkBytes: 64 << 10, fileDir: path.join(dir, "after-crash") });
    await again.init();
    expect(await again.list()).to.deep.equal([]);
    expect((await after.query("SELECT 1 FROM blob_chunks WHERE sha256 = $1", [s])).rowCount).to.equal(0);
    expect(await again.readSmall(s).catch((e: NodeJS.ErrnoException) => e.code)).to.equal("ENOENT");
    await again.put(await file(data), s);
    expect(await again.list()).to.deep.equal([s]);
    expect(sha(await readAll(await again.openRead(s)))).to.equal(s);
  });

  it("a fence that refuses (an old leader's epoch) rolls the put and the remove back", async () => {
    const { store, pool } = await fresh(4096);
    const data = randomBytes(20_000);
    const s = sha(data);
    let refuse = true;
    const fenced = new PgBlobStore(pool, {
      chunkBytes: 4096,
      fence: async (client) => {
        await client.query("SELECT 1");
        if (refuse) throw new Error("fenced: epoch 1 is not the lease's epoch 2");
      },
    });
    expect(await fenced.put(await file(data), s).catch((e: Error) => e.message)).to.match(/fenced/);
    expect(await store.list()).to.deep.equal([]);
    expect((await pool.query("SELECT 1 FROM blob_chunks")).rowCount).to.equal(0);
    refuse = false;
    await fenced.put(await file(data), s);
    refuse = true;
    expect(await fenced.remove(s).catch((e: Error) => e.message)).to.match(/fenced/);
    expect(await store.list()).to.deep.equal([s]);
  });

  it("a put holds no lock on the fence's row while it streams: the lease's renewal (an UPDATE of that row) does not wait for a long put", async function () {
    if (spawnSync("mkfifo", ["--help"]).status !== 0) this.skip();
    const { pool } = await fresh(64 << 10);
    // A stand-in for the lease row and its fence (swpatch_assert_epoch locks the row FOR SHARE until the commit).
    await pool.query("CREATE TABLE fence_row (id int PRIMARY KEY, expires int NOT NULL); INSERT INTO fence_row VALUES (1, 0)");
    let fenced = 0;
    const store = new PgBlobStore(pool, {
      chunkBytes: 64 << 10,
      fileDir: await fsp.mkdtemp(path.join(dir, "files-")),
      fence: async (client) => {
        fenced++;
        await client.query("SELECT 1 FROM fence_row WHERE id = 1 FOR SHARE");
      },
    });
    const data = randomBytes(2 << 20);
    const s = sha(data);
    const fifo = path.join(dir, `fifo-${randomBytes(4).toString("hex")}`);
    expect(spawnSync("mkfifo", [fifo]).status).to.equal(0);
    const put = store.put(fifo, s);
    const w = createWriteStream(fifo);
    await new Promise<void>((resolve, reject) => w.write(data.subarray(0, 1 << 20), (e) => (e ? reject(e) : resolve())));
    // The put's transaction is open and has written chunks (asked of the server, not timed).
    for (;;) {
      const { rows } = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE 'INSERT INTO blob_chunks%'",
      );
      if (rows[0]!.n > 0) break;
    }
    // A renewal now: it must not wait for the put (lock_timeout turns a wait into an error).
    const renew = await pool.connect();
    try {
      await renew.query("SET lock_timeout = '1s'");
      const r = await renew.query("UPDATE fence_row SET expires = expires + 1 WHERE id = 1").then(
        (x) => x.rowCount,
        (e: Error) => e.message,
      );
      expect(r, "the renewal during the put").to.equal(1);
    } finally {
      renew.release();
    }
    expect(fenced, "fenced before its data was sent").to.equal(0);
    w.end(data.subarray(1 << 20));
    await put;
    expect(fenced).to.equal(1);
    expect(sha(await readAll(await store.openRead(s)))).to.equal(s);
  });

  it("a blob removed while it is read: the reader gets an error, not a short blob", async () => {
    const { store } = await fresh(1024);
    const data = randomBytes(64 * 1024);
    const s = sha(data);
    await store.put(await file(data), s);
    const it = store.chunks(s);
    const first = await it.next();
    expect(first.value).to.deep.equal(data.subarray(0, 1024));
    await store.remove(s);
    const err = await (async () => {
      for (;;) if ((await it.next()).done) return undefined;
    })().catch((e: Error) => e);
    expect(err, "the read fails").to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/went away while it was read/);
  });

  it("the schema is idempotent: ensureBlobSchema twice and the SQL run again change nothing", async () => {
    const { store, pool } = await fresh(1024);
    const data = randomBytes(5000);
    await store.put(await file(data), sha(data));
    await ensureBlobSchema(pool);
    await pool.query(BLOB_SCHEMA_SQL);
    expect(await store.list()).to.deep.equal([sha(data)]);
  });
});
