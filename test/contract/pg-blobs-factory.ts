/**
 * Blob-only store factories on a real PostgreSQL, for test/contract/blobs.test.ts: the store and
 * auth ports are sqlite's (the PostgreSQL store of those is another factory), the BlobPort is
 * PgBlobStore, bare (`postgres-blobs`) and behind the disk cache (`postgres-blobs+cache`), as a
 * controller runs it. One PostgreSQL server per run, started lazily by the first store and stopped
 * in a root after() hook; a fresh database per store. Without PostgreSQL these factories are not
 * listed and {@link pgBlobsSkipped} says why.
 */
import { SqlTrustRootStore } from "../../server/storage/sqlite/trust-root-store.js";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Pool } from "pg";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { SqliteStore } from "../../server/storage/sqlite/store.js";
import { AuthStore } from "../../server/storage/sqlite/auth-store.js";
import { PgBlobStore, pgBlobPort } from "../../server/storage/postgres/blob-store.js";
import { postgresUnavailable, startPostgres, type PostgresServer } from "../lib/postgres.js";
import type { StoreFactory, StoreUnderTest } from "./store-factory.js";

let server: Promise<PostgresServer> | undefined;

/** The run's PostgreSQL server (started on first use). */
export function sharedPostgres(): Promise<PostgresServer> {
  server ??= startPostgres();
  return server;
}

after(async function () {
  this.timeout(30_000);
  if (server) await (await server).stop();
  server = undefined;
});

/** Why the PostgreSQL blob factories are not run here, or undefined. */
export const pgBlobsSkipped = postgresUnavailable();

/** Small chunks in the contract runs, so that the suite's blobs span many chunks. */
const CONTRACT_CHUNK = 256 << 10;

function pgBlobsFactory(name: string, cached: boolean): StoreFactory {
  return {
    name,
    async create() {
      const pg = await sharedPostgres();
      const url = await pg.createDatabase();
      const dir = await mkdtemp(path.join(os.tmpdir(), "swpatch-contract-pgb-"));
      return openPgBlobs(dir, url, cached);
    },
  };
}

async function openPgBlobs(dir: string, url: string, cached: boolean): Promise<StoreUnderTest> {
  const db = await Db.open(path.join(dir, "sw-patch.sqlite"), migrations);
  const pool = new Pool({ connectionString: url, max: 4 });
  pool.on("error", () => undefined);
  // Cached: as a controller builds it (pgBlobPort: <data-dir>/blob-cache).
  const blobs = cached
    ? pgBlobPort(pool, { dataDir: dir, cacheMaxBytes: 64 << 20, chunkBytes: CONTRACT_CHUNK })
    : new PgBlobStore(pool, { chunkBytes: CONTRACT_CHUNK, fileDir: path.join(dir, "files") });
  await blobs.init();
  await mkdir(path.join(dir, "scratch"), { recursive: true });
  const auth = new AuthStore(db);
  let open = true;
  const shut = async (): Promise<void> => {
    if (!open) return;
    open = false;
    await db.close();
    await pool.end();
  };
  return {
    store: new SqliteStore(db),
    blobs,
    auth: { tokens: auth, audit: auth, trust: auth, enrollments: auth },
    trustRoots: new SqlTrustRootStore(db),
    scratch: path.join(dir, "scratch"),
    async reopen() {
      await shut();
      // New objects on the same database; the local files (cache) start empty, as on a standby.
      for (const d of ["files", "blob-files", "blob-cache"]) await rm(path.join(dir, d), { recursive: true, force: true });
      return openPgBlobs(dir, url, cached);
    },
    async close() {
      await shut();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The PostgreSQL blob factories (empty when PostgreSQL is unavailable here). */
export const pgBlobFactories: readonly StoreFactory[] = pgBlobsSkipped ? [] : [pgBlobsFactory("postgres-blobs", false), pgBlobsFactory("postgres-blobs+cache", true)];
