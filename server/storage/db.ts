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

function wrap(conn: sqlite3.Database): Tx {
  return {
    run: (sql, params = []) =>
      new Promise((resolve, reject) =>
        conn.run(sql, params as never, function (this: sqlite3.RunResult, err: Error | null) {
          if (err) reject(err);
          else resolve({ changes: this.changes, lastID: this.lastID });
        }),
      ),
    get: <T>(sql: string, params: Params = []) =>
      new Promise<T | undefined>((resolve, reject) =>
        conn.get(sql, params as never, (err: Error | null, row: T) => (err ? reject(err) : resolve(row))),
      ),
    all: <T>(sql: string, params: Params = []) =>
      new Promise<T[]>((resolve, reject) =>
        conn.all(sql, params as never, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))),
      ),
  };
}

function open(file: string, mode: number): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const conn = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(conn)));
  });
}

function exec(conn: sqlite3.Database, sql: string): Promise<void> {
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
        try {
          await exec(this.writer, "BEGIN IMMEDIATE");
        } catch (e) {
          for (const g of group) g.reject(e);
          continue;
        }
        if (group.length === 1) {
          // Alone in its transaction: no savepoint needed; a failure rolls the whole thing back.
          try {
            results.push({ ok: true, value: await group[0]!.body(tx) });
          } catch (error) {
            await exec(this.writer, "ROLLBACK").catch(() => undefined);
            group[0]!.reject(error);
            continue;
          }
        } else {
          for (let i = 0; i < group.length; i++) {
            const sp = `sp${i}`;
            await exec(this.writer, `SAVEPOINT ${sp}`);
            try {
              const value = await group[i]!.body(tx);
              await exec(this.writer, `RELEASE ${sp}`);
              results.push({ ok: true, value });
            } catch (error) {
              await exec(this.writer, `ROLLBACK TO ${sp}`).catch(() => undefined);
              await exec(this.writer, `RELEASE ${sp}`).catch(() => undefined);
              results.push({ ok: false, error });
            }
          }
        }
        try {
          await exec(this.writer, "COMMIT");
          this.commitCount++;
        } catch (e) {
          await exec(this.writer, "ROLLBACK").catch(() => undefined);
          for (const g of group) g.reject(e);
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
      [this.writer, this.reader].map((c) => new Promise<void>((resolve) => c.close(() => resolve()))),
    );
  }
}

/** A forward-only schema step. Shipped migrations are never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
