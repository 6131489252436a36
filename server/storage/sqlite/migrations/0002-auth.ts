import type { Migration } from "../db.js";

/** 0002: bearer tokens (hashed), run-time trusted keys, the audit log. */
export const m0002: Migration = {
  version: 2,
  name: "auth",
  sql: `
-- Only sha256 of the secret is kept; the token string is shown once at creation.
CREATE TABLE auth_tokens (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('admin','operator','reader','agent')),
  hostname TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  secret_sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  CHECK ((role = 'agent') = (hostname <> ''))
);
CREATE INDEX auth_tokens_role ON auth_tokens(role) WHERE revoked_at IS NULL;
-- Patch-signing keys added with AddTrustedKey (keys given with --trust are not stored).
CREATE TABLE trusted_keys (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  label TEXT NOT NULL UNIQUE,
  pem TEXT NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
`,
};
