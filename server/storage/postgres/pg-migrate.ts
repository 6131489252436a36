/**
 * Forward-only migrations of the PostgreSQL store, applied at start-up in one transaction under
 * an advisory lock: of two controllers starting at once, one migrates, the other waits for the
 * lock and then finds the schema current. A database whose schema is newer than this binary's is
 * refused (an older controller must not write a schema it does not know).
 */
import type { Pool } from "pg";
import { DomainError } from "../../domain/errors.js";

/** A forward-only schema step. Shipped migrations are never edited. */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
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
