/**
 * The store a controller runs on (`--store`): sqlite in --data-dir (the default, as before) or
 * PostgreSQL. Blobs: <data-dir>/blobs with sqlite; in the database with PostgreSQL (PgBlobStore behind a
 * cache in <data-dir>/blob-cache), so that the two controllers of a pair share them.
 */
import * as path from "node:path";
import type { BlobPort, EventRetentionPort, Store } from "../domain/store.js";
import type { AuditChainStore, AuditStore, EnrollmentStore, TokenStore, TrustedKeyStore } from "../domain/auth/index.js";
import type { ControllerConfig } from "../config/controller-config.js";
import { postgresConnection } from "../config/store-options.js";
import { Db } from "../storage/sqlite/db.js";
import { migrations } from "../storage/sqlite/migrations/index.js";
import { SqliteStore } from "../storage/sqlite/store.js";
import { AuthStore } from "../storage/sqlite/auth-store.js";
import { SqlTrustRootStore } from "../storage/sqlite/trust-root-store.js";
import type { TrustRootStore } from "../domain/auth/trust-root-manager.js";
import { BlobStore } from "../storage/sqlite/blob-store.js";
import { openPostgresStore, describeUrl } from "../storage/postgres/store.js";
import { pgBlobPort } from "../storage/postgres/blob-store.js";
import type { Fence } from "../storage/postgres/pg-db.js";
import type { InstallReceiptStore } from "../domain/hosts/install-receipts.js";
import { ReceiptStore } from "../storage/sqlite/receipt-store.js";

/** Transactions asked for and commits made (a commit may carry several): diagnostics. */
export interface StoreStats {
  readonly txCount: number;
  readonly commitCount: number;
}

/** An open store: every port a controller needs. */
export interface OpenStore {
  readonly kind: "sqlite" | "postgres";
  /** For logs: the sqlite file, or the URL without password. */
  readonly where: string;
  readonly store: Store & EventRetentionPort;
  readonly auth: TokenStore & TrustedKeyStore & AuditStore & AuditChainStore & EnrollmentStore & Pick<AuthStore, "forgetCachedTokens">;
  /** Root of trust documents (issue 21). */
  readonly trustRoots: TrustRootStore;
  /** Patch files and packages (not yet `init`ed: PatchManager.init does that). */
  readonly blobs: BlobPort;
  /** FLOOR (issue 21): receipt keys and install receipts (migration 11). */
  readonly receipts: InstallReceiptStore;
  readonly stats: StoreStats;
  close(): Promise<void>;
}

/**
 * Opens the configured store and applies its migrations.
 * @param opts.fence PostgreSQL only: run first in every write transaction of the store and of the blob store (LEASE's epoch check).
 */
export async function openStore(config: ControllerConfig, opts: { fence?: Fence } = {}): Promise<OpenStore> {
  if (config.store.kind === "postgres") {
    const pg = await openPostgresStore(await postgresConnection(config.store), opts.fence ? { fence: opts.fence } : {});
    const blobs = pgBlobPort(pg.db.pool, { dataDir: config.dataDir, ...(opts.fence ? { fence: opts.fence } : {}) });
    return {
      kind: "postgres",
      where: describeUrl(config.store.connectionString),
      store: pg.store,
      auth: pg.auth,
      trustRoots: new SqlTrustRootStore(pg.db),
      blobs,
      receipts: new ReceiptStore(pg.db),
      stats: pg.db,
      close: () => pg.close(),
    };
  }
  const file = path.join(config.dataDir, "sw-patch.sqlite");
  const db = await Db.open(file, migrations);
  const blobs = new BlobStore(path.join(config.dataDir, "blobs"));
  return {
    kind: "sqlite",
    where: file,
    store: new SqliteStore(db),
    auth: new AuthStore(db),
    trustRoots: new SqlTrustRootStore(db),
    receipts: new ReceiptStore(db),
    blobs,
    stats: db,
    close: () => db.close(),
  };
}
