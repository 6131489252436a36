import type { PgMigration } from "../pg-migrate.js";
import { chainExistingRows } from "../../sqlite/audit-chain-store.js";

/**
 * 0012: the tamper-evident audit log, as sqlite's migration 0012 (the same logical schema): the
 * chain columns, the pruning anchor, checkpoints and checkpoint keys; the rows already there are
 * chained from the genesis marker, then the chain columns are made NOT NULL (a controller too old
 * to chain can no longer append) and seq and prev_hash unique (no two rows follow the same row).
 */
export const m0012: PgMigration = {
  version: 12,
  name: "audit-chain",
  sql: `
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT COLLATE "C";
ALTER TABLE audit_log ADD COLUMN hash TEXT COLLATE "C";
CREATE TABLE audit_chain_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT COLLATE "C" NOT NULL,
  frontier TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
  tree_size BIGINT PRIMARY KEY,
  root_hash TEXT COLLATE "C" NOT NULL,
  time TEXT COLLATE "C" NOT NULL,
  key_id TEXT COLLATE "C" NOT NULL,
  signature TEXT NOT NULL,
  frontier TEXT NOT NULL
);
CREATE TABLE audit_keys (
  key_id TEXT COLLATE "C" PRIMARY KEY,
  public_key TEXT NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL
);
`,
  async post(q) {
    await chainExistingRows(q);
    await q.run("ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL");
    await q.run("CREATE UNIQUE INDEX audit_log_seq ON audit_log(seq)");
    await q.run("CREATE UNIQUE INDEX audit_log_prev_hash ON audit_log(prev_hash)");
  },
};
