/**
 * Forward-only migrations of the PostgreSQL store, applied at start-up in one transaction under
 * an advisory lock: of two controllers starting at once, one migrates, the other waits for the
 * lock and then finds the schema current. A database whose schema is newer than this binary's is
 * refused (an older controller must not write a schema it does not know).
 */
import type { Pool, PoolClient } from "pg";
import { DomainError } from "../../domain/errors.js";
import type { Reader } from "../sqlite/db.js";
import { pgParams, toPg } from "./pg-sql.js";

/** A forward-only schema step. Shipped migrations are never edited. */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
  /** Run after `sql`, in the same transaction (the repositories' SQL, translated): a step SQL alone cannot do. */
  post?: (q: Reader) => Promise<void>;
}

/** The repositories' Reader over one client (a migration's transaction). */
function clientReader(client: PoolClient): Reader {
  const q = (sql: string, params?: Parameters<Reader["run"]>[1]) => client.query(toPg(sql), pgParams(params));
  return {
    run: async (sql, params) => ({ changes: (await q(sql, params)).rowCount ?? 0, lastID: 0 }),
    get: async <T>(sql: string, params?: Parameters<Reader["get"]>[1]) => (await q(sql, params)).rows[0] as T | undefined,
    all: async <T>(sql: string, params?: Parameters<Reader["all"]>[1]) => (await q(sql, params)).rows as T[],
  };
}

/** The transaction-scoped advisory lock migrations take ("sw-patch migrate"). */
export const MIGRATION_LOCK_KEY = 0x7377_7061_7463_6802n;

/** Applies what `migrations` has and the database lacks; resolves with the versions applied. */
export async function migrate(pool: Pool, migrations: readonly PgMigration[]): Promise<number[]> {
  const known = [...migrations].sort((a, b) => a.version - b.version);
  const newest = known.at(-1)?.version ?? 0;
  const client = await pool.connect();
  let ok = false;
  try {
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const done = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    const ahead = [...done].filter((v) => v > newest).sort((a, b) => a - b);
    if (ahead.length) {
      throw new DomainError(
        "failed-precondition",
        `the database schema is newer than this controller (database version ${ahead.at(-1)}, this controller knows up to ${newest}): run a newer sw-patch-controller`,
        { reason: "STORE_SCHEMA_NEWER" },
      );
    }
    const applied: number[] = [];
    for (const m of known) {
      if (done.has(m.version)) continue;
      try {
        await client.query(m.sql);
        if (m.post) await m.post(clientReader(client));
      } catch (e) {
        throw new Error(`migration ${m.version} ${m.name} failed: ${(e as Error).message}`, { cause: e });
      }
      await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [m.version, m.name, new Date().toISOString()]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
    ok = true;
    return applied;
  } finally {
    if (!ok) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}
