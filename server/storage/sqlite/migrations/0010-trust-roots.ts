import type { Migration } from "../db.js";

/** 0010: root of trust documents (issue 21, docs/security.md "Root of trust and patch signatures"). */
export const m0010: Migration = {
  version: 10,
  name: "trust-roots",
  sql: `
CREATE TABLE trust_roots (
  version INTEGER PRIMARY KEY CHECK (version >= 1),
  document TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  installed_at TEXT NOT NULL,
  installed_by TEXT NOT NULL DEFAULT ''
);
`,
};
