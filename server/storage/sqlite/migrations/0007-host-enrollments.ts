import type { Migration } from "../db.js";

/**
 * 0007: host enrolment (docs/security.md, "Enrolment and revocation"): one-time enrolment tokens
 * (only sha256 of the secret), and the personality an enrolled host's credential is bound to
 * ('' for every token made before or by token-create).
 */
export const m0007: Migration = {
  version: 7,
  name: "host-enrollments",
  sql: `
ALTER TABLE auth_tokens ADD COLUMN personality TEXT NOT NULL DEFAULT '';
CREATE INDEX auth_tokens_host ON auth_tokens(hostname) WHERE role = 'agent' AND revoked_at IS NULL;
CREATE TABLE host_enrollments (
  id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  personality TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('pending','spent','replaced','revoked')),
  ended_at TEXT,
  credential_id TEXT NOT NULL DEFAULT '',
  CHECK ((state = 'pending') = (ended_at IS NULL))
);
CREATE INDEX host_enrollments_host ON host_enrollments(hostname);
`,
};
