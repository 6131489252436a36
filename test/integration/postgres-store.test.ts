/**
 * The PostgreSQL store's own behaviour, beyond the contract suite (test/contract runs every port on
 * it): start-up errors that name the flag (unreachable, no such database, a missing or wrong
 * password), TLS by sslmode, a database with a newer schema refused, two controllers migrating at once, the writer lock and fence hook, and a database crash: calls fail UNAVAILABLE
 * while it is down and succeed after. In-process against a real PostgreSQL (test/lib/postgres.ts).
 */
import { expect } from "chai";
import { Client } from "pg";
import { postgresUnavailable, startPostgres, type PostgresServer } from "../lib/postgres.js";
import { openPostgresStore, type OpenPostgres } from "../../server/storage/postgres/store.js";
import { pgMigrations } from "../../server/storage/postgres/migrations/index.js";
import { DomainError } from "../../server/domain/errors.js";
import { postgresConnection, resolveStore } from "../../server/config/store-options.js";
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { issue, writeIssued } from "../lib/test-certs.js";
import type { Fence, PgConnection } from "../../server/storage/postgres/pg-db.js";
import * as os from "node:os";
import * as path from "node:path";

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
  let tlsDir: string | undefined;
  let caFile: string;
  const openStore = async (url: string, more: { fence?: Fence; password?: string; ssl?: PgConnection["ssl"] } = {}) => {
    const { fence, ...conn } = more;
    const s = await openPostgresStore({ connectionString: url, max: 4, ...conn }, fence ? { fence } : {});
    open.push(s);
    return s;
  };
  before(async function () {
    const why = postgresUnavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    // TLS offered (a test CA's certificate for 127.0.0.1), not required; swp_pw must give its password (scram).
    tlsDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-pgtls-"));
    const ca = issue("sw-patch test database CA", { ca: true });
    caFile = writeIssued(tlsDir, "ca", ca).cert;
    const server = writeIssued(tlsDir, "server", issue("127.0.0.1", { issuer: ca, ip: "127.0.0.1" }));
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
      const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
      for (const f of [tlsDir, server.cert, server.key]) chownSync(f, uid, gid);
    }
    pg = await startPostgres({
      hba: ["host all swp_pw 127.0.0.1/32 scram-sha-256"],
      settings: { ssl: "on", ssl_cert_file: server.cert, ssl_key_file: server.key },
    });
  });
  after(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    await pg?.stop();
    if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
  });

  it("names --store and the cause when the database cannot be reached or does not exist", async () => {
    const refused = await rejection(openPostgresStore({ connectionString: "postgres://sw@127.0.0.1:1/swpatch" }));
    expect(refused).to.be.instanceOf(DomainError);
    expect(refused.message).to.match(/^--store postgres:\/\/sw@127\.0\.0\.1:1\/swpatch: cannot reach the database \(ECONNREFUSED\)/);
    const missing = await rejection(openPostgresStore({ connectionString: `postgres://postgres@127.0.0.1:${pg!.port}/no_such_db` }));
    expect(missing.message).to.match(/^--store .*no_such_db: database "no_such_db" does not exist \(create it first/);
  });

  it("a role that needs a password: none or a wrong one is one line naming --store-password-file; the right one (from the file) works", async () => {
    const url = await pg!.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const admin = new Client({ connectionString: pg!.adminUrl });
    await admin.connect();
    await admin.query("CREATE ROLE swp_pw LOGIN PASSWORD 'right-one'");
    await admin.query(`ALTER DATABASE ${db} OWNER TO swp_pw`);
    await admin.end();
    const owner = new Client({ connectionString: url });
    await owner.connect();
    await owner.query("GRANT ALL ON SCHEMA public TO swp_pw");
    await owner.end();
    const as = `postgres://swp_pw@127.0.0.1:${pg!.port}/${db}`;
    const none = await rejection(openPostgresStore({ connectionString: as }));
    expect(none.message).to.equal(`--store ${as}: the server asks for a password: give it with --store-password-file FILE`);
    const wrong = await rejection(openPostgresStore({ connectionString: as, password: "wrong" }));
    expect(wrong.message).to.equal(`--store ${as}: password authentication failed for user "swp_pw" (give the password with --store-password-file FILE)`);
    const dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-pgpw-"));
    try {
      writeFileSync(path.join(dir, "pw"), "right-one\n", { mode: 0o600 });
      const config = resolveStore({ store: as, storePasswordFile: path.join(dir, "pw") }, {});
      const conn = await postgresConnection(config as Extract<typeof config, { kind: "postgres" }>);
      expect(conn).to.deep.equal({ connectionString: as, password: "right-one" });
      const s = await openStore(conn.connectionString, { password: conn.password! });
      await s.store.transact(async (tx) => tx.setControllerState("who", "swp_pw"));
      expect(await s.store.read.getControllerState("who")).to.equal("swp_pw");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("TLS to the database by sslmode: verify-full with sslrootcert is encrypted and checked; without the CA it fails naming TLS", async () => {
    const url = await pg!.createDatabase();
    const tls = async (query: string) => {
      const config = resolveStore({ store: `${url}?${query}` }, {});
      return postgresConnection(config as Extract<typeof config, { kind: "postgres" }>);
    };
    const verified = await tls(`sslmode=verify-full&sslrootcert=${caFile}`);
    const s = await openStore(verified.connectionString, { ssl: verified.ssl! });
    const row = (await s.db.pool.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0];
    expect(row?.ssl).to.equal(true);
    const unverified = await tls("sslmode=require");
    const r = await openStore(unverified.connectionString, { ssl: unverified.ssl! });
    expect((await r.db.pool.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0]?.ssl).to.equal(true);
    const noCa = await tls("sslmode=verify-full");
    const err = await rejection(openPostgresStore({ connectionString: noCa.connectionString, ssl: noCa.ssl! }));
    expect(err.message).to.match(/^--store postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+: TLS to the database failed: .*certificate.* \(sslmode in the --store URL\)$/);
  });

  it("refuses a database whose schema is newer than this binary, naming both versions", async () => {
    const url = await pg!.createDatabase();
    await (await openStore(url)).close();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')");
    await c.end();
    const err = await rejection(openPostgresStore({ connectionString: url }));
    expect(err.message).to.include(
      `the database schema is newer than this controller (database version 99, this controller knows up to ${pgMigrations.at(-1)!.version})`,
    );
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

  it("a writer that waits past lock_timeout for another controller's transaction fails UNAVAILABLE, and writes once the lock is free", async () => {
    const url = await pg!.createDatabase();
    const a = await openStore(url);
    const b = await openPostgresStore({ connectionString: url, max: 2, lockTimeoutMs: 200 });
    open.push(b);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const holder = a.store.transact(async (tx) => {
      await tx.setControllerState("k", "a");
      entered();
      await held;
    });
    await inside;
    const err = await rejection(b.store.transact(async (tx) => tx.setControllerState("k", "b")));
    expect((err as DomainError).kind).to.equal("unavailable");
    expect(err.message).to.match(/^the database is busy: a lock stayed held past lock_timeout/);
    release();
    await holder;
    await b.store.transact(async (tx) => tx.setControllerState("k", "b"));
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

  it("queued writes (values inlined as literals) store any text exactly: quotes, backslashes, $1, unicode", async () => {
    const s = await openStore(await pg!.createDatabase());
    const nasty = ["it's", "x\\'; DROP TABLE controller_state; --", "$1 $$ ? ?", "naïve ☃ \u{1F600}", "\\x00\\n", "E'\\''"];
    await s.store.transact(async (tx) => {
      for (const [i, v] of nasty.entries()) await tx.setControllerState(`k${i}`, v);
    });
    for (const [i, v] of nasty.entries()) expect(await s.store.read.getControllerState(`k${i}`)).to.equal(v);
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
