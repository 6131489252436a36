import sqlite3 from "sqlite3";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

/** A bound parameter list for one statement. */
export type Params = readonly unknown[] | Record<string, unknown>;

/** Statements on one connection (the reader's, or inside a transaction body). */
export interface Reader {
  run(sql: string, params?: Params): Promise<{ changes: number; lastID: number }>;
  get<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T | undefined>;
  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
}

/** What a transaction body may do; everything runs on the writer connection, in order. */
export interface Tx extends Reader {
  /**
   * Queues a write whose result the body does not need (positional `?` parameters only). Queued
   * writes run in order: before the body's next run/get/all, or else together with the other
   * bodies' queued writes and the COMMIT, in one call into sqlite. A queued write that fails makes
   * the whole group fail (every body of it rejected), as a failed COMMIT does: use it for writes
   * that can only fail on I/O errors (appends, upserts), and `run` where a constraint may refuse.
   */
  write(sql: string, params?: readonly unknown[]): void;
  /** Called (latest first) if this body's changes are rolled back: the body threw, or its group failed. */
  onRollback(fn: () => void): void;
}

/**
 * A value as an SQL literal, for queued writes (the same values node-sqlite3 binds: strings as
 * UTF-8 text, numbers, booleans as 0/1, null/undefined as NULL, bytes as a blob).
 */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  switch (typeof v) {
    case "string":
      // A NUL would end the statement text early: such strings go as hex.
      return v.includes("\0") ? `CAST(X'${Buffer.from(v, "utf8").toString("hex")}' AS TEXT)` : `'${v.replace(/'/g, "''")}'`;
    case "number":
      if (!Number.isFinite(v)) throw new Error(`cannot write ${v} to sqlite`);
      return String(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "1" : "0";
  }
  if (v instanceof Uint8Array) return `X'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}'`;
  throw new Error(`cannot write a ${Object.prototype.toString.call(v)} to sqlite`);
}

/** `sql` with each `?` outside quotes replaced by the next parameter as a literal. */
export function inlineParams(sql: string, params: readonly unknown[] = []): string {
  let out = "";
  let k = 0;
  let quote = "";
  let from = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "?") {
      if (k >= params.length) throw new Error(`too few parameters for: ${sql}`);
      out += sql.slice(from, i) + sqlLiteral(params[k++]);
      from = i + 1;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${sql}`);
  if (k !== params.length) throw new Error(`${params.length} parameters for ${k} placeholders in: ${sql}`);
  return out + sql.slice(from);
}

const STATS = process.env.SWPATCH_DB_STATS ? new Map<string, number>() : undefined;
export const dbStats = STATS;
function count(sql: string): void {
  if (STATS) {
    const k = sql.replace(/\s+/g, " ").slice(0, 60);
    STATS.set(k, (STATS.get(k) ?? 0) + 1);
  }
}

function wrap(conn: sqlite3.Database): Reader {
  if (STATS) {
    const t = wrap0(conn);
    return { run: (s, p) => (count(s), t.run(s, p)), get: (s, p) => (count(s), t.get(s, p)), all: (s, p) => (count(s), t.all(s, p)) } as Reader;
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

function wrap0(conn: sqlite3.Database): Reader {
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
  get read(): Reader {
    return wrap(this.reader);
  }

  /** Runs `body` in one write transaction; commits if it resolves, rolls back if it throws. */
  /** Transactions run so far, and commits (a commit may carry several; diagnostics). */
  txCount = 0;
  commitCount = 0;

  private batch: { body: (tx: Tx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private draining = false;
  /** Rows written by the next transaction to run (see `writeLazily`). */
  private lazy: { sql: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private lazyTimer: NodeJS.Timeout | undefined;

  /**
   * Writes one row with the next transaction that commits (whoever runs it), or in one of its
   * own after `maxDelayMs` if none does; resolves once that COMMIT is durable, rejects if it
   * fails. For appends whose caller needs durability but not a commit of their own (the audit
   * log: a busy controller writes its audit rows with the transactions it commits anyway).
   */
  writeLazily(sql: string, params: readonly unknown[] = [], maxDelayMs = 20): Promise<void> {
    if (this.closed) return Promise.reject(new Error("database is closed"));
    const text = inlineParams(sql, params);
    if (STATS) count(sql);
    return new Promise<void>((resolve, reject) => {
      this.lazy.push({ sql: text, resolve, reject });
      this.lazyTimer ??= setTimeout(() => {
        this.lazyTimer = undefined;
        if (this.lazy.length) void this.tx(async () => undefined).catch(() => undefined);
      }, maxDelayMs);
    });
  }

  /**
   * Runs `body` in a write transaction; resolves after the COMMIT is durable, rejects (with its
   * changes rolled back) if the body throws.
   *
   * Group commit: bodies that queue while a commit is in progress run together in the next
   * transaction, one after another; a body that throws is rolled back alone (to its savepoint)
   * and its caller rejected. One COMMIT (one fsync) then makes the whole group durable, and only
   * then does any caller see its result. If the COMMIT, or a queued write (Tx.write), fails, every
   * body of the group is rejected.
   *
   * Calls into sqlite are few: the statement text of queued writes, BEGIN, SAVEPOINT/RELEASE and
   * COMMIT accumulates and goes in one exec, when a body next needs a result (run/get/all) or at
   * the end of the group. A body that only queues writes costs no call of its own.
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
          for (const l of this.lazy.splice(0)) l.reject(new Error("database is closed"));
          continue;
        }
        await this.runGroup(group);
      }
    } finally {
      this.draining = false;
    }
  }

  private async runGroup(group: { body: (tx: Tx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[]): Promise<void> {
    const direct = wrap(this.writer);
    /** Statement text not yet sent to sqlite, in order. */
    let text: string[] = ["BEGIN IMMEDIATE"];
    /** Something was sent (the transaction is open). */
    let began = false;
    /** A send failed: the group can only roll back. (Read through failure(): set in closures.) */
    let failed: { error: unknown } | undefined;
    const failure = (): { error: unknown } | undefined => failed;
    const send = async (sql: string): Promise<void> => {
      try {
        await exec(this.writer, sql);
        began = true;
      } catch (error) {
        began = true;
        failed = { error };
        throw error;
      }
    };
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    // Rows waiting for a transaction (writeLazily) go first; they share this group's fate.
    const lazy = this.lazy.splice(0);
    if (lazy.length) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
      text.push(...lazy.map((l) => l.sql));
    }
    // A body alone in its group runs without a savepoint (its failure rolls everything back),
    // unless lazy rows ride along: they must not fail with it.
    const lone = group.length === 1 && lazy.length === 0;
    const undo: (() => void)[][] = [];
    const rollBack = (fns: (() => void)[]) => {
      for (let j = fns.length - 1; j >= 0; j--) {
        try {
          fns[j]!();
        } catch {
          // A rollback hook must not stop the others.
        }
      }
      fns.length = 0;
    };
    for (let i = 0; i < group.length && !failure(); i++) {
      let pending: string[] = [];
      let savepoint = false;
      const hooks: (() => void)[] = [];
      undo.push(hooks);
      const flush = async () => {
        const f = failure();
        if (f) throw f.error;
        // A body alone in its group needs no savepoint: its failure rolls the whole thing back.
        if (!savepoint && !lone) {
          text.push(`SAVEPOINT sp${i}`);
          savepoint = true;
        }
        text.push(...pending);
        pending = [];
        const sql = text.join(";\n");
        text = [];
        await send(sql);
      };
      const tx: Tx = {
        run: async (sql, params) => (await flush(), direct.run(sql, params)),
        get: async <T>(sql: string, params?: Params) => (await flush(), direct.get<T>(sql, params)),
        all: async <T>(sql: string, params?: Params) => (await flush(), direct.all<T>(sql, params)),
        write: (sql, params) => {
          const f = failure();
          if (f) throw f.error;
          if (STATS) count(sql);
          pending.push(inlineParams(sql, params));
        },
        onRollback: (fn) => void hooks.push(fn),
      };
      try {
        const value = await group[i]!.body(tx);
        const f = failure();
        if (f) throw f.error;
        text.push(...pending);
        if (savepoint) text.push(`RELEASE sp${i}`);
        results.push({ ok: true, value });
      } catch (error) {
        if (lone) {
          failed ??= { error };
          break;
        }
        // Its queued writes are dropped; what it sent is undone to its savepoint.
        if (savepoint) text.push(`ROLLBACK TO sp${i}`, `RELEASE sp${i}`);
        rollBack(hooks);
        results.push({ ok: false, error });
      }
    }
    if (!failure() && (began || text.length > 1)) {
      text.push("COMMIT");
      try {
        await send(text.join(";\n"));
        this.commitCount++;
      } catch {
        // `failed` is set.
      }
    }
    const f = failure();
    if (f) {
      if (began) await exec(this.writer, "ROLLBACK").catch(() => undefined);
      for (let j = undo.length - 1; j >= 0; j--) rollBack(undo[j]!);
      for (const g of group) g.reject(f.error);
      for (const l of lazy) l.reject(f.error);
      return;
    }
    for (const l of lazy) l.resolve();
    group.forEach((g, i) => {
      const r = results[i]!;
      if (r.ok) g.resolve(r.value);
      else g.reject(r.error);
    });
  }

  async close(): Promise<void> {
    // Lazy rows still waiting are written first.
    if (this.lazy.length) await this.tx(async () => undefined).catch(() => undefined);
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
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
