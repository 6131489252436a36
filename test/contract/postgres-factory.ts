/**
 * The PostgreSQL store under the contract suite: one real server per test run (test/lib/postgres.ts),
 * started lazily by the first store and stopped in a root after() hook; a fresh database per store.
 * Blobs: the sqlite adapter's BlobStore (a file directory) until PGBLOBS puts them in the database.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { BlobStore } from "../../server/storage/sqlite/blob-store.js";
import { openPostgresStore } from "../../server/storage/postgres/store.js";
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
  const blobs = new BlobStore(path.join(dir, "blobs"));
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
    scratch: path.join(dir, "scratch"),
    async reopen() {
      await shut();
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
