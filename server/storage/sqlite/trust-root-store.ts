/**
 * Root of trust documents (issue 21, migration 0010), over sqlite's Db or the PostgreSQL adapter's
 * PgDb (same SQL): one row per installed version, never updated or deleted.
 */
import { failedPrecondition } from "../../domain/errors.js";
import type { StoredTrustRoot, TrustRootStore } from "../../domain/auth/trust-root-manager.js";
import type { AuthDb } from "./auth-store.js";

const COLUMNS = 'version, document, sha256, installed_at AS "installedAt", installed_by AS "installedBy"';

/** TrustRootStore over the controller's database. */
export class SqlTrustRootStore implements TrustRootStore {
  constructor(private readonly db: AuthDb) {}

  async latestTrustRoot(): Promise<StoredTrustRoot | undefined> {
    const r = await this.db.read.get<StoredTrustRoot>(`SELECT ${COLUMNS} FROM trust_roots ORDER BY version DESC LIMIT 1`);
    return r ? { ...r, version: Number(r.version) } : undefined;
  }

  async insertTrustRoot(root: StoredTrustRoot, previous: number | null): Promise<void> {
    await this.db.tx(async (tx) => {
      const row = await tx.get<{ v: number | string | null }>("SELECT MAX(version) AS v FROM trust_roots");
      const latest = row?.v === null || row?.v === undefined ? null : Number(row.v);
      if (latest !== previous) {
        throw failedPrecondition(`trust root: version ${latest ?? "none"} is installed, not ${previous ?? "none"}: another change came first, try again`, {
          reason: "TRUST_ROOT_VERSION",
        });
      }
      await tx.run("INSERT INTO trust_roots (version, document, sha256, installed_at, installed_by) VALUES (?, ?, ?, ?, ?)", [
        root.version,
        root.document,
        root.sha256,
        root.installedAt,
        root.installedBy,
      ]);
    });
  }
}
