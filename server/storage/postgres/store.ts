/**
 * The PostgreSQL store (`--store postgres://...`): every port but BlobPort (that is PgBlobStore,
 * blob-store.ts, on the same pool: controller/open-store.ts builds it).
 *
 * The repositories are the sqlite adapter's (server/storage/sqlite/*-store.ts, same logical
 * schema, SQL translated by pg-sql.ts); what differs is the transaction engine (pg-db.ts) and the
 * migrations (./migrations). Two controllers may share one database: every write transaction
 * takes one advisory lock (writers serialised, as sqlite's single writer) and runs the `fence`
 * first; which controller may write at all is the lease's business (LEASE), plugged in as `fence`.
 */
import type { EventRetentionPort, Store, StoreReader, StoreTx, WriteGroup } from "../../domain/store.js";
import { DomainError } from "../../domain/errors.js";
import * as es from "../sqlite/event-store.js";
import { SqliteStoreTx, reader } from "../sqlite/store.js";
import { WriteBatches } from "../sqlite/write-batches.js";
import { AuthStore } from "../sqlite/auth-store.js";
import { PgDb, createPool, type Fence, type PgConnection } from "./pg-db.js";
import { migrate } from "./pg-migrate.js";
import { pgMigrations } from "./migrations/index.js";

/** The domain's Store over PostgreSQL (group commit, later, batch: as SqliteStore over Db). */
export class PostgresStore implements Store, EventRetentionPort {
  readonly read: StoreReader;
  private readonly batches = new WriteBatches((body) => this.transact(body));
  constructor(readonly db: PgDb) {
    this.read = reader(db.read);
  }
  batch<I, R>(group: WriteGroup<I, R>, item: I): Promise<R> {
    return this.batches.add(group, item);
  }
  transact<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.tx((tx) => body(new SqliteStoreTx(tx)));
  }
  later<T>(body: (tx: StoreTx) => Promise<T>, maxDelayMs: number): Promise<T> {
    return this.db.later((tx) => body(new SqliteStoreTx(tx)), maxDelayMs);
  }
  firstEventSeq(): Promise<number> {
    return es.firstEventSeq(this.db.read);
  }
  firstEventSeqSince(time: Date): Promise<number> {
    return es.firstEventSeqSince(this.db.read, time);
  }
  deleteEventsBefore(seq: number, limit: number): Promise<number> {
    return this.db.tx((tx) => es.deleteEventsBefore(tx, seq, limit));
  }
}

/** An open PostgreSQL store: the Store, the auth stores, and the engine (diagnostics, close). */
export interface OpenPostgres {
  store: PostgresStore;
  auth: AuthStore;
  db: PgDb;
  close(): Promise<void>;
}

/** `postgres://user@host:port/db` without a password, for messages. */
export function describeUrl(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    u.password = "";
    u.search = "";
    return u.toString();
  } catch {
    return "the --store URL";
  }
}

/** A start-up failure in words, naming the flag that would fix it. */
function startupError(e: unknown, c: PgConnection): Error {
  if (e instanceof DomainError && e.reason === "STORE_SCHEMA_NEWER")
    return new DomainError("failed-precondition", `--store ${describeUrl(c.connectionString)}: ${e.message}`, { reason: e.reason });
  const err = e as { code?: string; message?: string };
  const where = `--store ${describeUrl(c.connectionString)}`;
  const why =
    err.code === "28P01" || err.code === "28000"
      ? `${err.message} (give the password with --store-password-file FILE)`
      : err.code === "3D000"
        ? `${err.message} (create it first: createdb, or CREATE DATABASE)`
        : /password must be a string|SASL.*password/i.test(err.message ?? "")
          ? "the server asks for a password: give it with --store-password-file FILE"
          : err.code === "ECONNREFUSED" || err.code === "ENOTFOUND" || err.code === "ETIMEDOUT" || /timeout exceeded when trying to connect/i.test(err.message ?? "")
            ? `cannot reach the database (${err.code ?? err.message}): is PostgreSQL running and listening there?`
            : /SSL|TLS|certificate/i.test(err.message ?? "")
              ? `TLS to the database failed: ${err.message} (sslmode in the --store URL)`
              : (err.message ?? String(e));
  return new DomainError("unavailable", `${where}: ${why}`, { reason: "STORE_STARTUP", cause: e });
}

/**
 * Connects, applies pending migrations (refusing a newer schema) and returns the store.
 * @param opts.fence run first in every write transaction (see {@link Fence}; LEASE plugs in here).
 */
export async function openPostgresStore(c: PgConnection, opts: { fence?: Fence } = {}): Promise<OpenPostgres> {
  const pool = createPool(c);
  try {
    await migrate(pool, pgMigrations);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw startupError(e, c);
  }
  const db = new PgDb(pool, opts.fence);
  return { store: new PostgresStore(db), auth: new AuthStore(db), db, close: () => db.close() };
}
