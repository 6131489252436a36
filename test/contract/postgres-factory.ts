/**
 * The PostgreSQL store under the contract suite: one real server per test run (test/lib/postgres.ts),
 * started lazily by the first store and stopped in a root after() hook; a fresh database per store.
 * Blobs: in the same database, as a controller runs them (pgBlobPort: PgBlobStore behind the
 * <data-dir>/blob-cache), with small chunks so that the suite's blobs span many chunks.
 */
import { SqlTrustRootStore } from "../../server/storage/sqlite/trust-root-store.js";
import { ReceiptStore } from "../../server/storage/sqlite/receipt-store.js";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { openPostgresStore } from "../../server/storage/postgres/store.js";
import { pgBlobPort } from "../../server/storage/postgres/blob-store.js";
import { postgresUnavailable, startPostgres, type PostgresServer } from "../lib/postgres.js";
import type { StoreFactory, StoreUnderTest } from "./store-factory.js";

let server: Promise<PostgresServer> | undefined;

/** The run's server (started on first use). */
export function sharedPostgres(): Promise<PostgresServer> {
  return (server ??= startPostgres());
}

// Root hook: the server goes when the run ends (registered once, when mocha loads the first contract file).
if (typeof after === "function") {
  after(async () => {
    const s = server;
    server = undefined;
    if (s) await (await s).stop();
  });
}

/** Why the PostgreSQL factory cannot run here (then the suite says so and skips it), or undefined. */
export const postgresSkipReason: string | undefined = postgresUnavailable();

export const postgresFactory: StoreFactory = {
  name: "postgres",
  async create() {
    const pg = await sharedPostgres();
    const url = await pg.createDatabase();
    const dir = await mkdtemp(path.join(os.tmpdir(), "swpatch-contract-pg-"));
    return openPg(pg, url, dir);
  },
};

async function openPg(pg: PostgresServer, url: string, dir: string): Promise<StoreUnderTest> {
  const opened = await openPostgresStore({ connectionString: url, max: 4 });
  const blobs = pgBlobPort(opened.db.pool, { dataDir: dir, cacheMaxBytes: 64 << 20, chunkBytes: 256 << 10 });
  await blobs.init();
  await mkdir(path.join(dir, "scratch"), { recursive: true });
  let open = true;
  const shut = async () => {
    if (!open) return;
    open = false;
    await opened.close();
  };
  const auth = opened.auth;
  return {
    store: opened.store,
    blobs,
    auth: { tokens: auth, audit: auth, trust: auth, enrollments: auth },
    trustRoots: new SqlTrustRootStore(opened.db),
    receipts: new ReceiptStore(opened.db),
    scratch: path.join(dir, "scratch"),
    async reopen() {
      await shut();
      // New objects on the same database; the local cache starts empty, as on the other controller.
      for (const d of ["blob-files", "blob-cache"]) await rm(path.join(dir, d), { recursive: true, force: true });
      return openPg(pg, url, dir);
    },
    async close() {
      const first = open;
      await shut();
      await rm(dir, { recursive: true, force: true });
      if (!first) return;
      const c = new Client({ connectionString: pg.adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
