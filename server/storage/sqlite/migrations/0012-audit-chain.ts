import type { Migration } from "../db.js";
import { chainExistingRows } from "../audit-chain-store.js";

/**
 * 0012: the tamper-evident audit log (docs/security.md, "Tamper-evident audit log"): each row's
 * place in the hash chain (seq, prev_hash, hash), the anchor retention leaves when it prunes the
 * chain's start, signed checkpoints and the public keys that sign them. The rows already there are
 * chained from the genesis marker by the migration's step, then seq and prev_hash are made unique:
 * no two rows can follow the same row.
 */
export const m0012: Migration = {
  version: 12,
  name: "audit-chain",
  sql: `
ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TABLE audit_chain_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  frontier TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
  tree_size INTEGER PRIMARY KEY,
  root_hash TEXT NOT NULL,
  time TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  frontier TEXT NOT NULL
);
CREATE TABLE audit_keys (
  key_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`,
  async post(q) {
    await chainExistingRows(q);
    await q.run("CREATE UNIQUE INDEX audit_log_seq ON audit_log(seq)");
    await q.run("CREATE UNIQUE INDEX audit_log_prev_hash ON audit_log(prev_hash)");
  },
};
