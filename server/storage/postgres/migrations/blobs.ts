/**
 * The PostgreSQL blob store's schema (PgBlobStore). Idempotent (IF NOT EXISTS), so it can run on
 * every start through {@link ensureBlobSchema} or be taken into the PostgreSQL migration runner as
 * one forward migration named `blobs`.
 *
 * The tables are `blob_contents` and `blob_chunks`, NOT `blobs`: the store's own `blobs` table
 * (the domain's record that a package's file exists, migration 0001 of the sqlite schema) is a
 * different thing and keeps its name in the PostgreSQL schema.
 */
import type { Pool } from "pg";

/** The blob tables: a `blob_contents` row per whole blob, written last; its chunks in `blob_chunks`. */
export const BLOB_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS blob_contents (
  sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint NOT NULL CHECK (size >= 0),
  chunks integer NOT NULL CHECK (chunks >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS blob_chunks (
  sha256 text NOT NULL,
  seq integer NOT NULL CHECK (seq >= 0),
  data bytea NOT NULL,
  PRIMARY KEY (sha256, seq)
);
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
`;

/** The migration's name in the migration runner. */
export const BLOB_MIGRATION_NAME = "blobs";

/**
 * Creates the blob tables if they are missing (safe to run any number of times, also by two
 * controllers at once: an advisory lock serialises the DDL).
 */
export async function ensureBlobSchema(pool: Pool): Promise<void> {
  // Already there: nothing to lock (the ALTER below would take an exclusive lock on a table in use).
  const { rows } = await pool.query<{ n: number }>("SELECT count(to_regclass(t))::int AS n FROM unnest(ARRAY['blob_contents','blob_chunks']) AS t");
  if (rows[0]?.n === 2) return;
  const client = await pool.connect();
  const onError = (): void => undefined;
  client.on("error", onError);
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('swpatch:blob-schema', 0))");
    await client.query(BLOB_SCHEMA_SQL);
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    client.off("error", onError);
    client.release();
  }
}
