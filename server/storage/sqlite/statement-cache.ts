import sqlite3 from "sqlite3";
import type { Params, Reader } from "./db.js";

export const STATS = process.env.SWPATCH_DB_STATS ? new Map<string, number>() : undefined;
export const dbStats = STATS;
export function count(sql: string): void {
  if (STATS) {
    const k = sql.replace(/\s+/g, " ").slice(0, 60);
    STATS.set(k, (STATS.get(k) ?? 0) + 1);
  }
}

export function wrap(conn: sqlite3.Database): Reader {
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
    old.prepared.then(
      (st) => st.finalize(),
      () => undefined,
    );
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
export async function finalizeStatements(conn: sqlite3.Database): Promise<void> {
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
