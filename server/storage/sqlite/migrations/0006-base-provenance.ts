import type { Migration } from "../db.js";

/**
 * 0006: where each base-feed package came from: the trusted key that signed it ("" = unsigned),
 * who imported it and when (docs/security.md, "Trust and base packages"). Rows imported before
 * keep '' in all three (shown as "unrecorded").
 */
export const m0006: Migration = {
  version: 6,
  name: "base-provenance",
  sql: `
ALTER TABLE base_packages ADD COLUMN signer TEXT NOT NULL DEFAULT '';
ALTER TABLE base_packages ADD COLUMN imported_by TEXT NOT NULL DEFAULT '';
ALTER TABLE base_packages ADD COLUMN imported_at TEXT NOT NULL DEFAULT '';
`,
};
