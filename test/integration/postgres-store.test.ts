/**
 * The PostgreSQL store's own behaviour, beyond the contract suite (test/contract runs every port on
 * it): start-up errors that name the flag, a database with a newer schema refused, two controllers
 * migrating at once, the writer lock and fence hook, and a database crash: calls fail UNAVAILABLE
 * while it is down and succeed after. In-process against a real PostgreSQL (test/lib/postgres.ts).
 */
import { expect } from "chai";
import { Client } from "pg";
import { postgresUnavailable, startPostgres, type PostgresServer } from "../lib/postgres.js";
import { openPostgresStore, type OpenPostgres } from "../../server/storage/postgres/store.js";
import { pgMigrations } from "../../server/storage/postgres/migrations/index.js";
import { DomainError } from "../../server/domain/errors.js";
import { resolveStore } from "../../server/config/store-options.js";

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("PostgreSQL store: start-up, concurrency, fence, database crash", function () {
  this.timeout(90_000);
  let pg: PostgresServer | undefined;
  const open: OpenPostgres[] = [];
  const openStore = async (url: string, fence?: Parameters<typeof openPostgresStore>[1]) => {
    const s = await openPostgresStore({ connectionString: url, max: 4 }, fence);
    open.push(s);
    return s;
  };
  before(async function () {
    const why = postgresUnavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    pg = await startPostgres();
  });
  after(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    await pg?.stop();
  });

  it("names --store and the cause when the database cannot be reached or does not exist", async () => {
    const refused = await rejection(openPostgresStore({ connectionString: "postgres://sw@127.0.0.1:1/swpatch" }));
    expect(refused).to.be.instanceOf(DomainError);
    expect(refused.message).to.match(/^--store postgres:\/\/sw@127\.0\.0\.1:1\/swpatch: cannot reach the database \(ECONNREFUSED\)/);
    const missing = await rejection(openPostgresStore({ connectionString: `postgres://postgres@127.0.0.1:${pg!.port}/no_such_db` }));
    expect(missing.message).to.match(/^--store .*no_such_db: database "no_such_db" does not exist \(create it first/);
  });

  it("refuses a database whose schema is newer than this binary, naming both versions", async () => {
    const url = await pg!.createDatabase();
    await (await openStore(url)).close();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')");
    await c.end();
    const err = await rejection(openPostgresStore({ connectionString: url }));
    expect(err.message).to.include("the database schema is newer than this controller (database version 99, this controller knows up to 1)");
    expect(err.message).to.match(/^--store /);
  });

  it("two controllers starting at once: one migrates, the other finds the schema current", async () => {
    const url = await pg!.createDatabase();
    const [a, b] = await Promise.all([openStore(url), openStore(url)]);
    const c = new Client({ connectionString: url });
    await c.connect();
    const rows = (await c.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version")).rows;
    await c.end();
    expect(rows.map((r) => r.version)).to.deep.equal(pgMigrations.map((m) => m.version));
    // Both work on the same data.
    await a!.store.transact(async (tx) => tx.setControllerState("k", "from-a"));
    expect(await b!.store.read.getControllerState("k")).to.equal("from-a");
  });

  it("write transactions of two stores on one database are serialised (the writer lock), and the fence runs first in each", async () => {
    const url = await pg!.createDatabase();
    let fenced = 0;
    let refuse = false;
    const fence = async () => {
      fenced++;
      if (refuse) throw new DomainError("failed-precondition", "fenced: not the leader");
    };
    const a = await openStore(url, { fence });
    const b = await openStore(url);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const order: string[] = [];
    const first = a.store.transact(async (tx) => {
      await tx.setControllerState("k", "a");
      entered();
      await held;
      order.push("a commits");
    });
    await inside;
    const second = b.store.transact(async (tx) => {
      order.push("b runs");
      await tx.setControllerState("k", "b");
    });
    // b waits for a's lock (PostgreSQL shows its advisory lock request not granted); nothing of b has run.
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      for (let i = 0; ; i++) {
        const r = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        if (r.rows[0]!.n === 1) break;
        if (i > 500) throw new Error("b never waited for the writer lock");
        await new Promise((res) => setTimeout(res, 10));
      }
    } finally {
      await c.end();
    }
    expect(order).to.deep.equal([]);
    release();
    await Promise.all([first, second]);
    expect(order).to.deep.equal(["a commits", "b runs"]);
    expect(await a.store.read.getControllerState("k")).to.equal("b");
    expect(fenced).to.equal(1);
    refuse = true;
    const err = await rejection(a.store.transact(async (tx) => tx.setControllerState("k", "refused")));
    expect(err.message).to.equal("fenced: not the leader");
    expect(await a.store.read.getControllerState("k")).to.equal("b");
  });

  it("a database crash: reads and writes fail UNAVAILABLE while it is down, and succeed once it is back", async () => {
    const url = await pg!.createDatabase();
    const s = await openStore(url);
    await s.store.transact(async (tx) => tx.setControllerState("k", "before"));
    await pg!.restart({
      crash: true,
      whileDown: async () => {
        const w = await rejection(s.store.transact(async (tx) => tx.setControllerState("k", "during")));
        expect(w).to.be.instanceOf(DomainError);
        expect((w as DomainError).kind).to.equal("unavailable");
        const r = await rejection(s.store.read.getControllerState("k"));
        expect((r as DomainError).kind).to.equal("unavailable");
        const t = await rejection(s.auth.listTokens());
        expect((t as DomainError).kind).to.equal("unavailable");
      },
    });
    expect(await s.store.read.getControllerState("k")).to.equal("before");
    await s.store.transact(async (tx) => tx.setControllerState("k", "after"));
    expect(await s.store.read.getControllerState("k")).to.equal("after");
  });

  it("--store: postgres URLs checked (no password in the URL, sslmode), sqlite the default", () => {
    expect(resolveStore({}, {})).to.deep.equal({ kind: "sqlite" });
    expect(resolveStore({ store: "postgres://sw@db.example:6432/swpatch?sslmode=verify-full" }, {})).to.deep.equal({
      kind: "postgres",
      connectionString: "postgres://sw@db.example:6432/swpatch",
      passwordFile: undefined,
      ssl: { rejectUnauthorized: true, caFile: undefined, checkHost: true },
    });
    expect(resolveStore({ store: "postgresql://sw@db/swpatch?sslmode=require" }, {})).to.deep.include({
      connectionString: "postgres://sw@db:5432/swpatch",
      ssl: { rejectUnauthorized: false, caFile: undefined, checkHost: false },
    });
    expect(() => resolveStore({ store: "postgres://sw:secret@db/swpatch" }, {})).to.throw(/no password in the URL.*--store-password-file/);
    expect(() => resolveStore({ store: "postgres://sw@db/swpatch?sslmode=allow" }, {})).to.throw(/sslmode must be/);
    expect(() => resolveStore({ store: "mysql://sw@db/x" }, {})).to.throw(/expected sqlite or postgres/);
    expect(() => resolveStore({ storePasswordFile: "/x" }, {})).to.throw(/--store-password-file needs --store postgres/);
  });
});
