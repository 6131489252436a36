import type { PgMigration } from "../pg-migrate.js";

/**
 * 0001: the schema of sqlite migrations 0001-0007 as one step (the same logical schema, so the same
 * repositories run on both). Text columns compare bytewise (COLLATE "C"), as sqlite's do, so ORDER BY
 * gives the same order whatever the database's locale. Times stay ISO-8601 text, flags 0/1 integers.
 */
export const m0001: PgMigration = {
  version: 1,
  name: "initial",
  sql: `
CREATE TABLE releases (
  release TEXT COLLATE "C" PRIMARY KEY,
  created_at TEXT NOT NULL
);
-- Content-addressed files (in <data-dir>/blobs for now); a row exists only once the file is in place.
CREATE TABLE blobs (
  sha256 TEXT COLLATE "C" PRIMARY KEY,
  size BIGINT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE base_packages (
  release TEXT COLLATE "C" NOT NULL REFERENCES releases(release) ON DELETE CASCADE,
  file_name TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL,
  epoch TEXT NOT NULL,
  version TEXT NOT NULL,
  rel TEXT NOT NULL,
  arch TEXT NOT NULL,
  sha256 TEXT COLLATE "C" NOT NULL REFERENCES blobs(sha256),
  size BIGINT NOT NULL,
  signer TEXT NOT NULL DEFAULT '',
  imported_by TEXT NOT NULL DEFAULT '',
  imported_at TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (release, file_name)
);
CREATE TABLE patches (
  id TEXT COLLATE "C" PRIMARY KEY,
  sw_version TEXT COLLATE "C" NOT NULL,
  repo_state TEXT NOT NULL CHECK (repo_state IN ('Available','Applied','Committed')),
  metadata_json TEXT NOT NULL,
  metadata_xml TEXT NOT NULL,
  signer TEXT NOT NULL,
  file_sha256 TEXT COLLATE "C" NOT NULL,
  uploaded_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX patches_release ON patches(sw_version);
CREATE TABLE patch_packages (
  patch_id TEXT COLLATE "C" NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  file_name TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL,
  epoch TEXT NOT NULL,
  version TEXT NOT NULL,
  rel TEXT NOT NULL,
  arch TEXT NOT NULL,
  sha256 TEXT COLLATE "C" NOT NULL REFERENCES blobs(sha256),
  size BIGINT NOT NULL,
  reclaimed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (patch_id, file_name)
);
CREATE INDEX patch_packages_sha256 ON patch_packages(sha256);
CREATE TABLE patch_semantics (
  patch_id TEXT COLLATE "C" NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  action TEXT COLLATE "C" NOT NULL,
  sha256 TEXT COLLATE "C" NOT NULL REFERENCES blobs(sha256),
  PRIMARY KEY (patch_id, action)
);
CREATE TABLE app_dependencies (
  app TEXT COLLATE "C" NOT NULL,
  patch_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (app, patch_id)
);
CREATE TABLE interim (
  patch_id TEXT COLLATE "C" NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  hostname TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (patch_id, hostname)
);
-- seq is given by the event log (never generated here).
CREATE TABLE events (
  seq BIGINT PRIMARY KEY,
  time TEXT COLLATE "C" NOT NULL,
  kind TEXT COLLATE "C" NOT NULL,
  patch_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  hostname TEXT COLLATE "C" NOT NULL DEFAULT '',
  old_state TEXT NOT NULL DEFAULT '',
  new_state TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  operation_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  progress_json TEXT
);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_operation ON events(operation_id, seq) WHERE operation_id <> '';
CREATE INDEX events_patch ON events(patch_id, seq) WHERE patch_id <> '';
CREATE INDEX events_host ON events(hostname, seq) WHERE hostname <> '';
CREATE TABLE hosts (
  hostname TEXT COLLATE "C" PRIMARY KEY,
  ip TEXT NOT NULL DEFAULT '',
  personality TEXT NOT NULL,
  subfunctions TEXT NOT NULL,
  release TEXT NOT NULL,
  admin_state TEXT NOT NULL DEFAULT 'unlocked',
  agent_state TEXT NOT NULL DEFAULT 'unknown',
  install_reason TEXT NOT NULL DEFAULT '',
  requires_reboot INTEGER NOT NULL DEFAULT 0,
  patch_failed INTEGER NOT NULL DEFAULT 0,
  installed_json TEXT NOT NULL DEFAULT '[]',
  instances_json TEXT NOT NULL DEFAULT '[]',
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
CREATE TABLE operations (
  id TEXT COLLATE "C" PRIMARY KEY,
  hostname TEXT COLLATE "C" NOT NULL,
  kind TEXT NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  force INTEGER NOT NULL DEFAULT 0,
  start_seq BIGINT NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_progress_json TEXT
);
CREATE INDEX operations_running ON operations(state) WHERE state = 'running';
CREATE TABLE alarms (
  uuid TEXT COLLATE "C" PRIMARY KEY,
  alarm_id TEXT NOT NULL,
  entity_instance_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  reason_text TEXT NOT NULL,
  mgmt_affecting INTEGER NOT NULL DEFAULT 0,
  proposed_repair_action TEXT NOT NULL DEFAULT '',
  time TEXT COLLATE "C" NOT NULL
);
CREATE TABLE controller_state (
  key TEXT COLLATE "C" PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE strategy (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  uuid TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  json TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- Only sha256 of the secret is kept; the token string is shown once at creation.
CREATE TABLE auth_tokens (
  id TEXT COLLATE "C" PRIMARY KEY,
  role TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin','operator','reader','agent')),
  hostname TEXT COLLATE "C" NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  secret_sha256 TEXT NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL,
  revoked_at TEXT,
  personality TEXT NOT NULL DEFAULT '',
  CHECK ((role = 'agent') = (hostname <> ''))
);
CREATE INDEX auth_tokens_role ON auth_tokens(role) WHERE revoked_at IS NULL;
CREATE INDEX auth_tokens_host ON auth_tokens(hostname) WHERE role = 'agent' AND revoked_at IS NULL;
CREATE TABLE trusted_keys (
  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  label TEXT NOT NULL UNIQUE,
  pem TEXT NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE audit_log (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  time TEXT COLLATE "C" NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE host_enrollments (
  id TEXT COLLATE "C" PRIMARY KEY,
  hostname TEXT COLLATE "C" NOT NULL,
  personality TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL,
  expires_at TEXT COLLATE "C" NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('pending','spent','replaced','revoked')),
  ended_at TEXT,
  credential_id TEXT NOT NULL DEFAULT '',
  CHECK ((state = 'pending') = (ended_at IS NULL))
);
CREATE INDEX host_enrollments_host ON host_enrollments(hostname);
`,
};
