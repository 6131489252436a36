import sqlite3 from "sqlite3";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { inlineParams } from "./sql-literal.js";
import { STATS, count, dbStats, finalizeStatements, wrap } from "./statement-cache.js";

export { inlineParams, sqlLiteral } from "./sql-literal.js";
export { dbStats };

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
   * bodies' queued writes and the COMMIT, in one call into sqlite. A queued write that a
   * constraint refuses fails its body alone (rolled back to its savepoint; the body's further calls
   * throw that error, and it is rejected with it however it ends); one that fails otherwise (the
   * transaction ended) fails the whole group, as a failed COMMIT does. In a `later` body (which
   * has no savepoint) any failure fails the group.
   */
  write(sql: string, params?: readonly unknown[]): void;
  /** Called (latest first) if this body's changes are rolled back: the body threw, or its group failed. */
  onRollback(fn: () => void): void;
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
        if (m.post) await m.post(db0);
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

  /** Transactions run so far, and commits (a commit may carry several; diagnostics). */
  txCount = 0;
  commitCount = 0;

  private batch: { body: (tx: Tx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private draining = false;
  /** The running drain loop (close() waits for it). */
  private drained: Promise<void> = Promise.resolve();
  /** Rows written by the next transaction to run (see `writeLazily`). */
  private lazy: { sql?: string; body?: (tx: Tx) => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
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
    return new Promise<void>((resolve, reject) => this.enqueueLazy({ sql: text, resolve: () => resolve(), reject }, maxDelayMs));
  }

  /**
   * Runs `body` at the start of the next transaction that commits (whoever runs it), or of one of
   * its own after `maxDelayMs` if none does; resolves with its value once that COMMIT is durable.
   * It shares that group's fate: if it throws, or the group fails, the whole group is rejected
   * (use it for writes that can only fail on I/O errors: appends, upserts).
   */
  later<T>(body: (tx: Tx) => T | Promise<T>, maxDelayMs = 20): Promise<T> {
    if (this.closed) return Promise.reject(new Error("database is closed"));
    return new Promise<T>((resolve, reject) => this.enqueueLazy({ body, resolve: resolve as (v: unknown) => void, reject }, maxDelayMs));
  }

  private enqueueLazy(entry: Db["lazy"][number], maxDelayMs: number): void {
    this.lazy.push(entry);
    this.lazyTimer ??= setTimeout(() => {
      this.lazyTimer = undefined;
      if (this.lazy.length) void this.tx(async () => undefined).catch(() => undefined);
    }, maxDelayMs);
  }

  /**
   * Runs `body` in a write transaction; resolves after the COMMIT is durable, rejects (with its
   * changes rolled back) if the body throws.
   *
   * Group commit: bodies that queue while a commit is in progress run together in the next
   * transaction, one after another; a body that throws is rolled back alone (to its savepoint)
   * and its caller rejected. One COMMIT (one fsync) then makes the whole group durable, and only
   * then does any caller see its result. A queued write a constraint refuses (sent later, maybe
   * with others' text) fails its own body alone: the failed send finds the body
   * whose savepoint is open, rolls back to it and sends the rest again (the fast path, one exec
   * per group, is unchanged). If the COMMIT fails, or a failure ends the transaction, every body
   * of the group is rejected.
   *
   * Calls into sqlite are few: the statement text of queued writes, BEGIN, SAVEPOINT/RELEASE and
   * COMMIT accumulates and goes in one exec, when a body next needs a result (run/get/all) or at
   * the end of the group. A body that only queues writes costs no call of its own.
   */
  tx<T>(body: (tx: Tx) => Promise<T>): Promise<T> {
    this.txCount++;
    return new Promise<T>((resolve, reject) => {
      this.batch.push({ body, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) this.drained = this.drain();
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
    /** Statement text not yet sent to sqlite, in order, each with the body it belongs to (-1: the group's). */
    let text: { sql: string; body: number }[] = [{ sql: "BEGIN IMMEDIATE", body: -1 }];
    /** Something was sent (the transaction is open). */
    let began = false;
    /** The group can only roll back. (Read through failure(): set in closures.) */
    let failed: { error: unknown } | undefined;
    const failure = (): { error: unknown } | undefined => failed;
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    /** Bodies whose statement the database refused: their savepoint is rolled back and released. */
    const refused: ({ error: unknown } | undefined)[] = [];
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
    // A body alone in its group runs without a savepoint (its failure rolls everything back),
    // unless lazy rows ride along: they must not fail with it.
    const lone = group.length === 1 && this.lazy.length === 0;
    /**
     * Sends the text accumulated. A statement of a body that fails (a constraint refuses a queued
     * write) fails that body alone: its savepoint is the open one; it is rolled back to, the body
     * marked refused, and the text after its part sent again. Any other failure (the group's own
     * statements, COMMIT, an error that ended the transaction) fails the group.
     */
    const sendText = async (): Promise<void> => {
      let rest = text;
      text = [];
      while (rest.length) {
        try {
          await exec(this.writer, rest.map((e) => e.sql).join(";\n"));
          began = true;
          return;
        } catch (error) {
          began = true;
          const k = lone ? -1 : await this.rollBackOpenSavepoint([...new Set(rest.map((e) => e.body).filter((b) => b >= 0))]);
          if (k < 0) {
            failed = { error };
            throw error;
          }
          refused[k] = { error };
          rollBack(undo[k]!);
          if (results[k]) results[k] = { ok: false, error };
          let last = rest.length - 1;
          while (rest[last]!.body !== k) last--;
          rest = rest.slice(last + 1);
        }
      }
    };
    // Rows and bodies waiting for a transaction (writeLazily, later) go first; they share this group's fate.
    const lazy = this.lazy.splice(0);
    const lazyValues: unknown[] = [];
    const lazyUndo: (() => void)[] = [];
    if (lazy.length) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
      const ltx: Tx = {
        run: async (sql, params) => (await sendText(), direct.run(sql, params)),
        get: async <T>(sql: string, params?: Params) => (await sendText(), direct.get<T>(sql, params)),
        all: async <T>(sql: string, params?: Params) => (await sendText(), direct.all<T>(sql, params)),
        write: (sql, params) => {
          if (STATS) count(sql);
          text.push({ sql: inlineParams(sql, params), body: -1 });
        },
        onRollback: (fn) => void lazyUndo.push(fn),
      };
      for (const l of lazy) {
        if (failure()) break;
        try {
          if (l.sql !== undefined) {
            text.push({ sql: l.sql, body: -1 });
            lazyValues.push(undefined);
          } else lazyValues.push(await l.body!(ltx));
        } catch (error) {
          failed ??= { error };
        }
      }
    }
    for (let i = 0; i < group.length && !failure(); i++) {
      let pending: string[] = [];
      let savepoint = false;
      const hooks: (() => void)[] = [];
      undo.push(hooks);
      /** Throws if this body can go no further: the group failed, or a statement of it was refused. */
      const check = () => {
        const f = failure() ?? refused[i];
        if (f) throw f.error;
      };
      const flush = async () => {
        check();
        // A body alone in its group needs no savepoint: its failure rolls the whole thing back.
        if (!savepoint && !lone) {
          text.push({ sql: `SAVEPOINT sp${i}`, body: i });
          savepoint = true;
        }
        for (const sql of pending) text.push({ sql, body: i });
        pending = [];
        await sendText();
        check();
      };
      const tx: Tx = {
        run: async (sql, params) => (await flush(), direct.run(sql, params)),
        get: async <T>(sql: string, params?: Params) => (await flush(), direct.get<T>(sql, params)),
        all: async <T>(sql: string, params?: Params) => (await flush(), direct.all<T>(sql, params)),
        write: (sql, params) => {
          check();
          if (STATS) count(sql);
          pending.push(inlineParams(sql, params));
        },
        onRollback: (fn) => void hooks.push(fn),
      };
      try {
        const value = await group[i]!.body(tx);
        check();
        // Its queued writes go inside its savepoint too: one refused fails this body alone.
        if (!savepoint && pending.length && !lone) {
          text.push({ sql: `SAVEPOINT sp${i}`, body: i });
          savepoint = true;
        }
        for (const sql of pending) text.push({ sql, body: i });
        if (savepoint) text.push({ sql: `RELEASE sp${i}`, body: i });
        results.push({ ok: true, value });
      } catch (error) {
        if (lone) {
          failed ??= { error };
          break;
        }
        // Its queued writes are dropped; what it sent is undone to its savepoint (already, if refused).
        if (savepoint && !refused[i]) text.push({ sql: `ROLLBACK TO sp${i}`, body: -1 }, { sql: `RELEASE sp${i}`, body: -1 });
        rollBack(hooks);
        results.push({ ok: false, error });
      }
    }
    if (!failure() && (began || text.length > 1)) {
      text.push({ sql: "COMMIT", body: -1 });
      try {
        await sendText();
        this.commitCount++;
      } catch {
        // `failed` is set.
      }
    }
    const f = failure();
    if (f) {
      if (began) await exec(this.writer, "ROLLBACK").catch(() => undefined);
      for (let j = undo.length - 1; j >= 0; j--) rollBack(undo[j]!);
      rollBack(lazyUndo);
      for (const g of group) g.reject(f.error);
      for (const l of lazy) l.reject(f.error);
      return;
    }
    lazy.forEach((l, i) => l.resolve(lazyValues[i]));
    group.forEach((g, i) => {
      const r = results[i]!;
      if (r.ok) g.resolve(r.value);
      else g.reject(r.error);
    });
  }

  /**
   * After a failed statement: which of `bodies` has its savepoint open (the one whose statement
   * failed)? Rolls back to it and releases it; -1 if none is open (the failure was not a body's,
   * or it ended the transaction).
   */
  private async rollBackOpenSavepoint(bodies: readonly number[]): Promise<number> {
    for (let j = bodies.length - 1; j >= 0; j--) {
      const k = bodies[j]!;
      try {
        await exec(this.writer, `ROLLBACK TO sp${k}`);
      } catch {
        continue; // not open
      }
      try {
        await exec(this.writer, `RELEASE sp${k}`);
        return k;
      } catch {
        return -1;
      }
    }
    return -1;
  }

  async close(): Promise<void> {
    // Lazy rows still waiting are written first.
    if (this.lazy.length) await this.tx(async () => undefined).catch(() => undefined);
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    while (this.draining || this.batch.length) await this.drained;
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
  /** Run after `sql`, in the same transaction: a step SQL alone cannot do (e.g. hashing rows). */
  post?: (q: Reader) => Promise<void>;
}
