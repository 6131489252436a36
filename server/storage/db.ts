import sqlite3 from "sqlite3";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

/** A bound parameter list for one statement. */
export type Params = readonly unknown[] | Record<string, unknown>;

/** The statements a transaction body may run; all run on the writer connection. */
export interface Tx {
  run(sql: string, params?: Params): Promise<{ changes: number; lastID: number }>;
  get<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T | undefined>;
  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
}

const STATS = process.env.SWPATCH_DB_STATS ? new Map<string, number>() : undefined;
export const dbStats = STATS;
function count(sql: string): void {
  if (STATS) {
    const k = sql.replace(/\s+/g, " ").slice(0, 60);
    STATS.set(k, (STATS.get(k) ?? 0) + 1);
  }
}

function wrap(conn: sqlite3.Database): Tx {
  if (STATS) {
    const t = wrap0(conn);
    return { run: (s, p) => (count(s), t.run(s, p)), get: (s, p) => (count(s), t.get(s, p)), all: (s, p) => (count(s), t.all(s, p)) } as Tx;
  }
  return wrap0(conn);
}

/**
 * Prepared statements kept per connection, keyed by SQL text. node-sqlite3 runs `db.run(sql)` as
 * three thread-pool jobs (prepare, step, finalize); a cached statement needs one. Only run-to-
 * completion calls (`run`, `all`) use them, so a cached statement never stays active between
 * calls: it holds no read snapshot (the reader connection always sees the latest commit) and no
 * pending write (COMMIT never meets a statement in progress). `get` is `all` and the first row.
 */
const STATEMENT_CACHE_MAX = 256;
/** A cached statement: `ready` once prepared (a statement that fails to prepare is not kept). */
interface CachedStatement {
  ready?: sqlite3.Statement;
  prepared: Promise<sqlite3.Statement>;
}
const statementCaches = new WeakMap<sqlite3.Database, Map<string, CachedStatement>>();

/**
 * Calls `use` with the prepared statement for `sql` (prepared on first use). node-sqlite3 never
 * answers calls queued on a statement whose preparation failed, so calls wait for it.
 */
function withStatement(conn: sqlite3.Database, sql: string, use: (st: sqlite3.Statement) => void, fail: (e: Error) => void): void {
  let cache = statementCaches.get(conn);
  if (!cache) statementCaches.set(conn, (cache = new Map()));
  const hit = cache.get(sql);
  if (hit?.ready) return use(hit.ready);
  if (hit) {
    hit.prepared.then(use, fail);
    return;
  }
  if (cache.size >= STATEMENT_CACHE_MAX) {
    // Evict the oldest; finalize is queued behind whatever that statement still has to do.
    const [oldSql, old] = cache.entries().next().value as [string, CachedStatement];
    cache.delete(oldSql);
    old.prepared.then((st) => st.finalize(), () => undefined);
  }
  const entry: CachedStatement = {
    prepared: new Promise<sqlite3.Statement>((resolve, reject) => {
      const st = conn.prepare(sql, (err: Error | null) => {
        if (err) {
          if (cache.get(sql) === entry) cache.delete(sql);
          reject(err);
        } else {
          entry.ready = st;
          resolve(st);
        }
      });
    }),
  };
  cache.set(sql, entry);
  entry.prepared.then(use, fail);
}

/** Finalizes the cached statements of a connection (before it closes). */
async function finalizeStatements(conn: sqlite3.Database): Promise<void> {
  const cache = statementCaches.get(conn);
  statementCaches.delete(conn);
  if (!cache) return;
  await Promise.all(
    [...cache.values()].map((e) =>
      e.prepared.then(
        (st) => new Promise<void>((resolve) => st.finalize(() => resolve())),
        () => undefined,
      ),
    ),
  );
}

function wrap0(conn: sqlite3.Database): Tx {
  const all = <T>(sql: string, params: Params = []) =>
    new Promise<T[]>((resolve, reject) =>
      withStatement(conn, sql, (st) => st.all(params as never, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))), reject),
    );
  return {
    run: (sql, params = []) =>
      new Promise((resolve, reject) =>
        withStatement(
          conn,
          sql,
          (st) =>
            st.run(params as never, function (this: sqlite3.RunResult, err: Error | null) {
              if (err) reject(err);
              else resolve({ changes: this.changes, lastID: this.lastID });
            }),
          reject,
        ),
      ),
    get: async <T>(sql: string, params: Params = []) => (await all<T>(sql, params))[0],
    all,
  };
}

function open(file: string, mode: number): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const conn = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(conn)));
  });
}

function exec(conn: sqlite3.Database, sql: string): Promise<void> {
  count(sql.replace(/sp\d+/, "sp"));
  return new Promise((resolve, reject) => conn.exec(sql, (err) => (err ? reject(err) : resolve())));
}

/**
 * The embedded store: one sqlite file in WAL mode with foreign keys on.
 * INVARIANTS: every write goes through `tx()`; bodies run one at a time on the writer connection,
 * each in its own savepoint inside a BEGIN IMMEDIATE..COMMIT that may carry several (group
 * commit); no caller sees its result before its COMMIT; `read` uses a second connection and so
 * only ever sees committed state.
 */
export class Db {
  private closed = false;

  private constructor(
    private readonly writer: sqlite3.Database,
    private readonly reader: sqlite3.Database,
    readonly file: string,
  ) {}

  /** Opens (creating if needed) the database file and applies pending migrations. */
  static async open(file: string, migrations: readonly Migration[]): Promise<Db> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const writer = await open(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
    await exec(writer, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
    const db0 = wrap(writer);
    await db0.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const done = new Set((await db0.all<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await exec(writer, "BEGIN IMMEDIATE");
      try {
        await exec(writer, m.sql);
        await db0.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, new Date().toISOString()]);
        await exec(writer, "COMMIT");
      } catch (e) {
        await exec(writer, "ROLLBACK").catch(() => undefined);
        throw new Error(`migration ${m.version} ${m.name} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    const reader = await open(file, sqlite3.OPEN_READONLY);
    await exec(reader, "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;");
    return new Db(writer, reader, file);
  }

  /** Read-only access to committed state. */
  get read(): Tx {
    return wrap(this.reader);
  }

  /** Runs `body` in one write transaction; commits if it resolves, rolls back if it throws. */
  /** Transactions run so far, and commits (a commit may carry several; diagnostics). */
  txCount = 0;
  commitCount = 0;

  private batch: { body: (tx: Tx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private draining = false;

  /**
   * Runs `body` in a write transaction; resolves after the COMMIT is durable, rejects (with its
   * changes rolled back) if the body throws.
   *
   * Group commit: bodies that queue while a commit is in progress run together in the next
   * transaction, each inside its own SAVEPOINT, one after another; a body that throws is rolled
   * back to its savepoint alone. One COMMIT (one fsync) then makes the whole group durable, and
   * only then does any caller see its result. If the COMMIT itself fails, every body of the
   * group is rejected.
   */
  tx<T>(body: (tx: Tx) => Promise<T>): Promise<T> {
    this.txCount++;
    return new Promise<T>((resolve, reject) => {
      this.batch.push({ body, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.batch.length) {
        const group = this.batch.splice(0, 64);
        if (this.closed) {
          for (const g of group) g.reject(new Error("database is closed"));
          continue;
        }
        const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        const tx = wrap(this.writer);
        const lone = group.length === 1;
        // Savepoint statements ride along with the next exec: BEGIN with the first SAVEPOINT, each
        // RELEASE (or ROLLBACK TO) with the next SAVEPOINT, the last one with the COMMIT. Any of
        // those failing rolls the whole group back and rejects every body of it, as a failed
        // COMMIT does.
        try {
          await exec(this.writer, lone ? "BEGIN IMMEDIATE" : "BEGIN IMMEDIATE; SAVEPOINT sp0");
        } catch (e) {
          await exec(this.writer, "ROLLBACK").catch(() => undefined);
          for (const g of group) g.reject(e);
          continue;
        }
        let failed: unknown;
        let closing = "";
        for (let i = 0; i < group.length; i++) {
          try {
            if (i > 0) await exec(this.writer, `${closing}; SAVEPOINT sp${i}`);
          } catch (e) {
            failed = e;
            break;
          }
          try {
            const value = await group[i]!.body(tx);
            results.push({ ok: true, value });
            closing = `RELEASE sp${i}`;
          } catch (error) {
            results.push({ ok: false, error });
            closing = `ROLLBACK TO sp${i}; RELEASE sp${i}`;
          }
        }
        // Alone in its transaction (no savepoint): a failure rolls the whole thing back.
        if (lone && !results[0]!.ok) {
          await exec(this.writer, "ROLLBACK").catch(() => undefined);
          group[0]!.reject((results[0] as { error: unknown }).error);
          continue;
        }
        if (failed === undefined) {
          try {
            await exec(this.writer, lone ? "COMMIT" : `${closing}; COMMIT`);
            this.commitCount++;
          } catch (e) {
            failed = e;
          }
        }
        if (failed !== undefined) {
          await exec(this.writer, "ROLLBACK").catch(() => undefined);
          for (const g of group) g.reject(failed);
          continue;
        }
        group.forEach((g, i) => {
          const r = results[i]!;
          if (r.ok) g.resolve(r.value);
          else g.reject(r.error);
        });
      }
    } finally {
      this.draining = false;
    }
  }

  async close(): Promise<void> {
    while (this.draining || this.batch.length) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    await Promise.all(
      [this.writer, this.reader].map(async (c) => {
        await finalizeStatements(c);
        await new Promise<void>((resolve) => c.close(() => resolve()));
      }),
    );
  }
}

/** A forward-only schema step. Shipped migrations are never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
